#!/usr/bin/env bash
# A private Docker engine for CI and local checks, on a machine where no image registry is
# reachable: installs Debian's docker.io and debootstrap when missing, starts a dockerd of its own
# (no iptables, no bridge: containers use `--network host`), makes the Debian base image locally
# (debootstrap + docker import, since nothing can be pulled), and stops that dockerd (and only it).
#
# Interface (stable: .ci/run and the pod and rolling-restart checks call it):
#
#   scripts/container-engine.sh install
#       apt-get install docker.io and debootstrap when `dockerd` or `debootstrap` is missing
#       (as root, or through sudo).
#   scripts/container-engine.sh start DIR
#       start a dockerd whose whole state is under DIR (created if missing): socket DIR/docker.sock,
#       data root DIR/data, exec root DIR/exec, pid file DIR/dockerd.pid, log DIR/dockerd.log.
#       Waits until it answers (60 s at most), then prints `unix://DIR/docker.sock` on stdout (the
#       DOCKER_HOST to use). Fails if DIR already has a running engine. Keep DIR short: a unix socket
#       path has at most 107 bytes (a `mktemp -d` under /tmp is fine).
#   scripts/container-engine.sh stop DIR
#       stop the dockerd started with that DIR (TERM, then KILL after 20 s), its containers with
#       it, and remove DIR (the images in it too). Does nothing if none is running. Never touches
#       any other dockerd.
#   scripts/container-engine.sh base-image [TAG]
#       with DOCKER_HOST set: make the Debian base image TAG (default tco-base:bookworm) by
#       `debootstrap --variant=minbase bookworm` and `docker import`, apt lists, caches, docs, man
#       pages and locales left out. Skipped when TAG already exists. DEBIAN_MIRROR overrides the
#       mirror (default http://deb.debian.org/debian).
#   scripts/container-engine.sh run DIR -- COMMAND [ARG...]
#       install (when missing), start, make the base image, run COMMAND with DOCKER_HOST exported,
#       then stop the engine whatever COMMAND did (trap); exits with COMMAND's status.
#
# Sourced (`. scripts/container-engine.sh`), it defines the same steps as functions and runs
# nothing: engine_install, engine_start DIR (also exports DOCKER_HOST), engine_stop DIR,
# engine_base_image [TAG]. The caller owns its EXIT trap, e.g.
#   engine_dir="$(mktemp -d)"; trap 'engine_stop "$engine_dir"' EXIT; engine_start "$engine_dir"
#
# Each step prints its duration in seconds on stderr ("container-engine: ... in N s").

engine__log() { echo "container-engine: $*" >&2; }

engine__as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

engine_install() {
  if command -v dockerd >/dev/null && command -v docker >/dev/null && command -v debootstrap >/dev/null; then
    return 0
  fi
  local started=$SECONDS
  engine__as_root apt-get update -qq
  # The Debian packages, not Docker's own: they come from the mirror this machine can reach.
  # docker.io's recommends (cgroupfs-mount, git, xz, ...) are not needed to build and run images.
  DEBIAN_FRONTEND=noninteractive engine__as_root apt-get install -y -qq --no-install-recommends \
    docker.io debootstrap ca-certificates >/dev/null
  # The package may start the system's own dockerd (systemd): it is left as it is; ours is separate.
  engine__log "docker.io and debootstrap installed in $((SECONDS - started)) s"
}

engine_start() {
  local dir="${1:?engine_start: DIR missing}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  local sock="$dir/docker.sock" pidfile="$dir/dockerd.pid"
  if [ ${#sock} -gt 107 ]; then
    engine__log "socket path $sock is longer than a unix socket allows (107 bytes): use a shorter DIR"
    return 1
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    engine__log "an engine is already running in $dir (pid $(cat "$pidfile"))"
    return 1
  fi
  local started=$SECONDS
  # No iptables and no bridge: CI machines and containers-in-containers often may not change the
  # host's firewall or make interfaces; containers use --network host and meet on 127.0.0.1.
  # Its own exec root also gives it its own containerd, so it never shares state with another engine.
  local as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  # A subshell that execs dockerd, with its output to the log: it keeps no copy of the caller's
  # stdout, so `DOCKER_HOST="$(container-engine.sh start DIR)"` returns (a function call with
  # redirections would keep the caller's pipe open in a saved descriptor for dockerd's lifetime).
  (exec "${as_root[@]}" dockerd --iptables=false --ip6tables=false --bridge=none \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
    --host "unix://$sock") >"$dir/dockerd.log" 2>&1 </dev/null &
  local launcher=$!
  local deadline=$((SECONDS + 60))
  until DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      engine__log "dockerd exited while starting; the end of $dir/dockerd.log:"
      tail -n 20 "$dir/dockerd.log" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      engine__log "dockerd did not answer on $sock within 60 s; the end of $dir/dockerd.log:"
      tail -n 20 "$dir/dockerd.log" >&2
      engine_stop "$dir"
      return 1
    fi
    sleep 0.2
  done
  export DOCKER_HOST="unix://$sock"
  engine__log "dockerd (pid $(cat "$pidfile")) answers on $sock after $((SECONDS - started)) s"
}

engine_stop() {
  local dir="${1:?engine_stop: DIR missing}"
  [ -d "$dir" ] || return 0
  local pidfile="$dir/dockerd.pid"
  if [ -f "$pidfile" ]; then
    local pid
    pid="$(cat "$pidfile")"
    # Only the dockerd this DIR started: the pid file is ours, and the process must still be a
    # dockerd with our socket on its command line (a recycled pid is left alone).
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "unix://$dir/docker.sock"; then
      engine__as_root kill -TERM "$pid"
      local waited=0
      while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.2; waited=$((waited + 1)); done
      if kill -0 "$pid" 2>/dev/null; then
        engine__log "dockerd $pid still running after 20 s: killing it"
        engine__as_root kill -KILL "$pid" 2>/dev/null || true
      fi
      engine__log "dockerd $pid stopped"
    fi
  fi
  # Mounts left by a killed engine would make the removal fail; unmount what is under DIR.
  if grep -qF " $dir/" /proc/mounts 2>/dev/null; then
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount; do engine__as_root umount -l "$mount" 2>/dev/null || true; done
  fi
  engine__as_root rm -rf "$dir"
}

engine_base_image() {
  local tag="${1:-tco-base:bookworm}"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    engine__log "base image $tag already there: kept"
    return 0
  fi
  local started=$SECONDS work status=0
  work="$(mktemp -d)"
  engine__make_base "$tag" "$work" || status=$?
  engine__as_root rm -rf "$work"
  [ $status = 0 ] || return $status
  engine__log "base image $tag made (debootstrap + import) in $((SECONDS - started)) s, $(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

engine__make_base() {
  local tag="$1" rootfs="$2/rootfs"
  if ! engine__as_root debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$2/debootstrap.log" 2>&1; then
    engine__log "debootstrap failed; the end of its log:"
    tail -n 20 "$2/debootstrap.log" >&2
    return 1
  fi
  # What the image never uses at run time (what debian:bookworm-slim leaves out too): downloaded
  # packages and package lists (apt-get update brings them back), logs, docs, man pages, translations.
  engine__as_root sh -c "cd '$rootfs' && rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin \
    var/lib/apt/lists/* var/log/* usr/share/doc/* usr/share/man/* usr/share/info/* \
    usr/share/locale/* usr/share/lintian var/cache/debconf/*-old"
  # PATH is set explicitly: an imported image has no configuration at all.
  engine__as_root tar --numeric-owner -C "$rootfs" -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --message "debootstrap --variant=minbase bookworm (scripts/container-engine.sh)" \
      - "$tag" >/dev/null
}

engine__main() {
  set -euo pipefail
  local command="${1:-}"
  shift || true
  case "$command" in
    install) engine_install ;;
    start)
      engine_start "${1:?usage: container-engine.sh start DIR}" >/dev/null
      echo "$DOCKER_HOST"
      ;;
    stop) engine_stop "${1:?usage: container-engine.sh stop DIR}" ;;
    base-image) engine_base_image "${1:-tco-base:bookworm}" ;;
    run)
      local dir="${1:?usage: container-engine.sh run DIR -- COMMAND...}"
      shift
      [ "${1:-}" = "--" ] && shift
      [ $# -gt 0 ] || { engine__log "run: no COMMAND given"; return 2; }
      engine_install
      # shellcheck disable=SC2064 # the path is fixed now, on purpose
      trap "engine_stop '$dir'" EXIT
      engine_start "$dir"
      engine_base_image
      local status=0
      "$@" || status=$?
      return $status
      ;;
    *)
      sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      return 2
      ;;
  esac
}

# Run as a script, not sourced: dispatch the subcommand.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  engine__main "$@"
fi
