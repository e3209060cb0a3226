#!/usr/bin/env bash
# A private Docker engine for the image check (see docs/kubernetes.md, "The image check").
#   tests/image/engine.sh start   start one (unless DOCKER_HOST or the default socket answers);
#                                 prints `export DOCKER_HOST=...` for eval (with
#                                 STAMPEDE_ENGINE_STARTED=1 when it started one)
#   tests/image/engine.sh stop    stop the engine this script started (by its pidfile)
#   tests/image/engine.sh base    print the stand-in base tarball path, building it if missing
# The engine never creates a network (--bridge=none, no iptables): containers run with
# --network host only. Its data root lives in the cache so the base image and the build cache
# survive between runs; exec root, pidfile and socket live under a short temp dir.
set -euo pipefail
CACHE="${STAMPEDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stampede}"
RUNDIR="${STAMPEDE_ENGINE_RUN:-/tmp/stampede-engine-$(id -u)}"
SOCK="$RUNDIR/docker.sock"
PIDFILE="$RUNDIR/dockerd.pid"

answers() { DOCKER_HOST="$1" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then echo "export DOCKER_HOST=$DOCKER_HOST"; return; fi
  if answers unix:///var/run/docker.sock; then echo "export DOCKER_HOST=unix:///var/run/docker.sock"; return; fi
  if answers "unix://$SOCK"; then echo "export DOCKER_HOST=unix://$SOCK"; return; fi
  command -v dockerd >/dev/null || { echo "engine.sh: dockerd is not installed" >&2; return 1; }
  [ "$(id -u)" = 0 ] || { echo "engine.sh: dockerd needs root here" >&2; return 1; }
  mkdir -p "$RUNDIR/exec" "$CACHE/engine"
  nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    --data-root "$CACHE/engine" --exec-root "$RUNDIR/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" >"$RUNDIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if answers "unix://$SOCK"; then
      echo "export DOCKER_HOST=unix://$SOCK STAMPEDE_ENGINE_STARTED=1"; return
    fi
    sleep 0.5
  done
  echo "engine.sh: dockerd did not answer within 30 s; last log lines:" >&2
  tail -5 "$RUNDIR/dockerd.log" >&2
  return 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  pid="$(cat "$PIDFILE")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }; sleep 0.5; done
  echo "engine.sh: dockerd $pid still running after 20 s" >&2
  return 1
}

base() {
  # The stand-in for python:3.11-slim where nothing can be pulled: Debian bookworm minbase with
  # python3 (3.11), venv, CA certificates, a `python` link and the host's CA bundle.
  local tarball="$CACHE/standin-base.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { echo "engine.sh: debootstrap is not installed" >&2; return 1; }
    mkdir -p "$CACHE"
    local dir; dir="$(mktemp -d /tmp/stampede-base.XXXXXX)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$dir" >"$CACHE/debootstrap.log" 2>&1 \
      || { echo "engine.sh: debootstrap failed, see $CACHE/debootstrap.log" >&2; rm -rf "$dir"; return 1; }
    ln -sf python3 "$dir/usr/bin/python"
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$dir/var/cache/apt/archives"/*.deb "$dir/var/lib/apt/lists"/*
    mkdir -p "$CACHE"
    tar -C "$dir" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  base) base ;;
  *) echo "usage: $0 start|stop|base" >&2; exit 2 ;;
esac
