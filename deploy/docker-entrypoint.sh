#!/usr/bin/env bash
# Entry point of the Sanad image (deploy/Dockerfile); the service is the image's $SERVICE.
#   serve (the default)  bring the service's schema to the newest migration (the gateway has
#                        none: a no-op), then run it, listening on every interface
#   migrate              only the migration
#   anything else        run as given (docker-compose.yml's init job and dev sinks)
set -euo pipefail
: "${SERVICE:?SERVICE is not set: build the image with --build-arg SERVICE=<service>}"

# Settings read the bind address from SANAD_<SERVICE>_HOST (127.0.0.1 by default), which
# would not be reachable from outside the container.
host_variable="SANAD_${SERVICE^^}_HOST"
export "${host_variable}=${!host_variable:-0.0.0.0}"

[ $# -gt 0 ] || set -- serve
case "$1" in
  serve)
    python -m "sanad.${SERVICE}" migrate
    exec python -m "sanad.${SERVICE}" serve
    ;;
  migrate)
    exec python -m "sanad.${SERVICE}" migrate
    ;;
  *)
    exec "$@"
    ;;
esac
