#!/usr/bin/env bash
# Build both images (command, query) with Docker or Podman, whichever is installed.
#
#   scripts/build-images.sh [--release]          (`make images`)
#
# Environment:
#   IMAGE_TAG          tag of both images                   (dev)
#   IMAGE_REGISTRY     prefix, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com (none)
#   BASE_IMAGE_DIGEST  sha256:... of the Dockerfile's base image; the build then
#                      pins the base by digest (the tag alone can be re-pushed)
#   CONTAINER_ENGINE   docker or podman                     (the first one found)
#
# --release is the production path: it refuses to build without
# BASE_IMAGE_DIGEST, so a released image always has a known base.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { echo "build-images: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

release=false
case ${1:-} in
  "") ;;
  --release) release=true ;;
  *) die "usage: $0 [--release]" ;;
esac

engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  for candidate in docker podman; do
    if command -v "$candidate" >/dev/null; then
      engine=$candidate
      break
    fi
  done
fi
[ -n "$engine" ] || die "neither docker nor podman is installed"

tag=${IMAGE_TAG:-dev}
prefix=${IMAGE_REGISTRY:+${IMAGE_REGISTRY%/}/}
digest=${BASE_IMAGE_DIGEST:-}
dockerfile=Dockerfile
if [ -n "$digest" ]; then
  [[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "BASE_IMAGE_DIGEST must look like sha256:<64 hex digits>"
  # The Dockerfile names its base by tag; build from a copy that adds the digest.
  base=$(sed -n 's/^FROM \([^ ]*\) AS python-base$/\1/p' Dockerfile)
  [ -n "$base" ] || die "no 'FROM <image> AS python-base' line in the Dockerfile"
  dockerfile=$(mktemp "${TMPDIR:-/tmp}/Dockerfile.XXXXXX")
  trap 'rm -f "$dockerfile"' EXIT
  sed "s|^FROM $base AS python-base\$|FROM ${base%%@*}@$digest AS python-base|" Dockerfile >"$dockerfile"
  say "base image pinned: ${base%%@*}@$digest"
elif $release; then
  die "--release needs BASE_IMAGE_DIGEST (sha256:...): see docs/deploy-ec2.md"
fi

for target in command query; do
  image="${prefix}microblog-$target:$tag"
  say "$engine build --target $target -t $image"
  "$engine" build -f "$dockerfile" --target "$target" -t "$image" .
done
