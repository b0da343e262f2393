#!/usr/bin/env bash
# Starts the local services the tests talk to (PostgreSQL, Mosquitto, Redis) when they are down.
# On this project's machines they already run; a fresh machine of the same kind may need a start.
set -u

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
fi
if ! up 1883; then
  echo "starting Mosquitto"
  if ! command -v mosquitto >/dev/null; then apt-get update -qq && apt-get install -y -qq mosquitto >/dev/null; fi
  mosquitto -d -c /etc/mosquitto/mosquitto.conf 2>/dev/null || mosquitto -d
fi
if ! up 6379; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
fi

for _ in $(seq 1 30); do up 5432 && up 1883 && exit 0; sleep 1; done
up 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
up 1883 || { echo "Mosquitto is not reachable at 127.0.0.1:1883" >&2; exit 1; }
