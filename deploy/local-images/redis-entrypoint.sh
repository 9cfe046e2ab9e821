#!/bin/sh
# What the stack uses of the official redis image's entrypoint: options alone go to redis-server, protected mode is
# off (the server is reached over the container network without a password), and it runs as the redis user.
set -eu
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
if [ "$(id -u)" = 0 ]; then
  chown redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
