"""The public dashboard at `/`: server-rendered pages (Jinja2 templates, inline SVG charts, one stylesheet) of what
the API serves, readable without JavaScript, a login or a network connection beyond this server."""
