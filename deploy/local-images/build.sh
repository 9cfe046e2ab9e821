#!/usr/bin/env bash
# Base images for the deploy check when no image registry can be reached: the official python, postgres and redis
# images are pulled when possible; otherwise a stand-in is made from Debian bookworm's own packages with
# debootstrap, from the Debian mirror this machine's apt already uses. A stand-in that already exists is reused
# (delete it with `docker rmi` to make it again). Prints the three image names as shell assignments for the caller.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PULL_TIMEOUT="${PULL_TIMEOUT:-20}"
CACHE_DIR="${DEBOOTSTRAP_CACHE:-/var/cache/f1-predict-debootstrap}"

log() { echo "[base-images] $*" >&2; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  # deb822 (URIs:) and one-line (deb URL suite) sources; the first plain bookworm archive, not the security one
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '/^URIs:/ {u = $2} /^deb / {u = ($2 ~ /^\[/ ? $3 : $2)}
           u != "" && u ~ /debian/ && u !~ /security/ {print u; exit} {u = ""}' || true
}

# make NAME PACKAGES CUSTOMIZE_FUNCTION DOCKER_IMPORT_CHANGES...
make_image() {
  local name="$1" packages="$2" customize="$3"; shift 3
  local mirror root
  if docker image inspect "$name" >/dev/null 2>&1; then log "$name: present, reused"; return; fi
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { log "no Debian mirror found in apt's sources (set DEBIAN_MIRROR)"; exit 1; }
  command -v debootstrap >/dev/null || { log "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
  root="$(mktemp -d /var/tmp/f1-base.XXXXXX)"
  mkdir -p "$CACHE_DIR"
  log "$name: debootstrap bookworm from $mirror (+ $packages)"
  debootstrap --variant=minbase --cache-dir="$CACHE_DIR" --include="$packages" bookworm "$root" "$mirror" \
    > "$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -rf "$root" "$root.log"; exit 1; }
  "$customize" "$root"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/tmp/* "$root"/usr/share/doc/*
  tar -C "$root" --numeric-owner -c . | docker import "$@" - "$name" >/dev/null \
    || { rm -rf "$root" "$root.log"; log "$name: docker import failed"; exit 1; }
  rm -rf "$root" "$root.log"
  log "$name: made"
}

# The CA bundle of this machine: package downloads inside image builds go through the same TLS setup as the host.
host_ca_bundle() {
  local root="$1"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
}

customize_python() {
  local root="$1"
  host_ca_bundle "$root"
  rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python3"
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python"
}

customize_postgres() {
  local root="$1"
  # the package's own cluster is not used: the entrypoint makes one in PGDATA, as the official image does
  rm -rf "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15
  install -m 0755 "$here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$root/docker-entrypoint-initdb.d"
}

customize_redis() {
  local root="$1"
  install -m 0755 "$here/redis-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$root/data"
}

pull() { timeout "$PULL_TIMEOUT" docker pull --quiet "$1" >/dev/null 2>&1; }

PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

if pull python:3.11-slim; then
  python_image=python:3.11-slim
else
  python_image=f1-local/python:3.11-bookworm
  make_image "$python_image" python3.11,python3-pip,python3-venv,ca-certificates customize_python \
    --change "ENV $PATH_ENV" --change "ENV LANG=C.UTF-8" \
    --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --change "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt" \
    --change "ENV UV_NATIVE_TLS=1" --change 'CMD ["python3"]'
fi

if pull postgres:16; then
  postgres_image=postgres:16
else
  # bookworm ships PostgreSQL 15, not 16: what this stack uses of it (databases, roles, SQL) is the same.
  postgres_image=f1-local/postgres:15-bookworm
  make_image "$postgres_image" postgresql-15,postgresql-client-15 customize_postgres \
    --change "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" --change "ENV PGDATA=/var/lib/postgresql/data" \
    --change 'VOLUME ["/var/lib/postgresql/data"]' --change "EXPOSE 5432" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["postgres"]'
fi

if pull redis:7; then
  redis_image=redis:7
else
  redis_image=f1-local/redis:7-bookworm
  make_image "$redis_image" redis-server,redis-tools customize_redis \
    --change "ENV $PATH_ENV" --change "WORKDIR /data" --change 'VOLUME ["/data"]' --change "EXPOSE 6379" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["redis-server"]'
fi

echo "PYTHON_IMAGE=$python_image"
echo "POSTGRES_IMAGE=$postgres_image"
echo "REDIS_IMAGE=$redis_image"
