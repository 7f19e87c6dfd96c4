#!/usr/bin/env bash
# Builds the gateway's image from a release binary already built, the way CI does: the
# Dockerfile's `release` stage (runtime-base + the binary), from a build context that holds only
# the binary, on a base image made locally (no registry needed). The full `docker build .` (a
# Rust toolchain image and debian:bookworm-slim from a registry) is the other way; both stages
# share the runtime part of the Dockerfile.
#
# Interface (stable: .ci/run and the pod and rolling-restart checks call it):
#   scripts/build-image.sh [--binary PATH] [--tag TAG] [--base IMAGE]
#     --binary  the tco-gateway release binary to ship; default: built here with
#               `cargo build --release --locked --no-default-features --bin tco-gateway`
#               (no simulator inside, like the full Dockerfile build), then
#               ${CARGO_TARGET_DIR:-target}/release/tco-gateway
#     --tag     the image's tag; default tco-gateway:local
#     --base    the runtime base (the Dockerfile's RUNTIME_BASE); default tco-base:bookworm, as
#               made by `scripts/container-engine.sh base-image`. The binary must link against a
#               glibc no newer than the base's (bookworm: 2.36), so build it on bookworm or older.
#   Needs DOCKER_HOST (or the default socket) to reach an engine (scripts/container-engine.sh).
#   Prints the tag on stdout when done; the build's output and timing go to stderr.
#
# The classic builder (DOCKER_BUILDKIT=0) is used on purpose: it works with Debian's docker.io
# 20.10 and newer clients alike, needs no buildx plugin and no bridge network, and never pulls.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
tag="tco-gateway:local"
base="tco-base:bookworm"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --base) base="${2:?--base needs an image}"; shift 2 ;;
    *) echo "build-image.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  cargo build --release --locked --no-default-features --bin tco-gateway >&2
  binary="${CARGO_TARGET_DIR:-target}/release/tco-gateway"
fi
if [ ! -x "$binary" ]; then
  echo "build-image.sh: $binary is not an executable file" >&2
  exit 1
fi
if ! docker version >/dev/null 2>&1; then
  echo "build-image.sh: no Docker engine answers at ${DOCKER_HOST:-the default socket} (scripts/container-engine.sh start DIR)" >&2
  exit 1
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "build-image.sh: base image $base is missing (scripts/container-engine.sh base-image $base makes it)" >&2
  exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context" "$context.log"' EXIT
# The context is the binary alone: nothing else of the checkout can reach the image, and the
# daemon gets 20 MB, not the source tree.
cp "$binary" "$context/tco-gateway"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
revision="$(git rev-parse HEAD 2>/dev/null || true)"

started=$SECONDS
# The build's output is shown only when it fails (newer clients warn that the classic builder is
# deprecated on every run).
if ! DOCKER_BUILDKIT=0 docker build --file "$PWD/Dockerfile" --target release \
  --build-arg "RUNTIME_BASE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --tag "$tag" "$context" >"$context.log" 2>&1; then
  echo "build-image.sh: docker build of $tag failed:" >&2
  cat "$context.log" >&2
  rm -f "$context.log"
  exit 1
fi
rm -f "$context.log"
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "build-image.sh: $tag built from $binary on $base in $((SECONDS - started)) s, $((size / 1000000)) MB" >&2
echo "$tag"
