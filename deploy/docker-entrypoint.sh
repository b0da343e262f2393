#!/bin/sh
# Exports every compose secret named LUNA_* (/run/secrets/LUNA_JWT_SECRET ...) as that variable,
# so secrets reach the settings object without ever being written into the compose file.
set -eu
for secret in /run/secrets/LUNA_*; do
    [ -f "$secret" ] || continue
    name=$(basename "$secret")
    value=$(cat "$secret")
    export "$name=$value"
done
exec "$@"
