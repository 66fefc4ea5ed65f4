#!/usr/bin/env bash
# Build both images (command, query) with Docker or Podman, whichever is installed.
#
#   scripts/build-images.sh [--release]          (`make images`)
#
# Environment:
#   IMAGE_TAG          tag of both images                   (dev)
#   IMAGE_REGISTRY     prefix, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com (none)
#   BASE_IMAGE_DIGEST  sha256:... of the Dockerfile's base image (its multi-arch
#                      index); the build then pins the base by digest (the tag
#                      alone can be re-pushed)
#   PLATFORMS          target platforms, comma-separated: one for a local build
#                      (default: the engine's own), any for --release (default
#                      linux/amd64,linux/arm64)
#   CONTAINER_ENGINE   docker or podman                     (the first one found)
#
# A local build is for this machine or one platform: an image built on an
# Apple-silicon Mac is linux/arm64 and does not run on x86 EC2 nodes unless
# PLATFORMS=linux/amd64 (emulated, slower).
#
# --release is the production path: it refuses to build without
# BASE_IMAGE_DIGEST (a released image always has a known base) or without
# IMAGE_REGISTRY, builds each image for every platform in PLATFORMS as one
# multi-arch image index (docker buildx, or podman build --manifest), pushes
# it, and prints the indexes' digests on stdout, everything else on stderr:
#   eval "$(scripts/build-images.sh --release)"   # sets COMMAND_DIGEST, QUERY_DIGEST
# Building for a foreign CPU needs emulation: Docker Desktop and Podman machine
# have it; on Linux, register QEMU's binfmt handlers (docs/deploy-ec2.md). With
# Docker, the builder must support several platforms (`docker buildx create
# --use` once, or Docker's containerd image store).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { echo "build-images: $*" >&2; }
SCRATCH_FILES=()
# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() { [ ${#SCRATCH_FILES[@]} -eq 0 ] || rm -f "${SCRATCH_FILES[@]}"; }
trap cleanup EXIT
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
  SCRATCH_FILES+=("$dockerfile")
  sed "s|^FROM $base AS python-base\$|FROM ${base%%@*}@$digest AS python-base|" Dockerfile >"$dockerfile"
  say "base image pinned: ${base%%@*}@$digest"
elif $release; then
  die "--release needs BASE_IMAGE_DIGEST (sha256:...): see docs/deploy-ec2.md"
fi

if $release; then
  platforms=${PLATFORMS:-linux/amd64,linux/arm64}
  [ -n "$prefix" ] || die "--release pushes the images: set IMAGE_REGISTRY (e.g. <account>.dkr.ecr.<region>.amazonaws.com)"
else
  platforms=${PLATFORMS:-}
  [[ $platforms != *,* ]] ||
    die "PLATFORMS=$platforms: several platforms make an image index, which is pushed, not kept locally: use --release"
fi
[[ -z $platforms || $platforms =~ ^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?(,[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?)*$ ]] ||
  die "PLATFORMS must look like linux/amd64,linux/arm64 (got '$platforms')"

# release_build TARGET IMAGE DIGEST_FILE: build IMAGE for every platform as
# one image index, push it, and print its digest.
release_build() {
  local target=$1 image=$2 digest_file=$3
  if [ "$engine" = podman ]; then
    # --manifest adds to an existing list of that name: start from none.
    podman manifest rm "$image" >/dev/null 2>&1 || true
    say "podman build --platform $platforms --target $target --manifest $image"
    podman build -f "$dockerfile" --platform "$platforms" --target "$target" --manifest "$image" . >&2
    podman manifest push --all --digestfile "$digest_file" "$image" "docker://$image" >&2
    cat "$digest_file"
  else
    docker buildx version >/dev/null 2>&1 ||
      die "docker buildx is needed for a multi-platform image (Docker Desktop has it; Linux: the docker-buildx plugin)"
    say "docker buildx build --platform $platforms --target $target -t $image --push"
    docker buildx build -f "$dockerfile" --platform "$platforms" --target "$target" -t "$image" \
      --metadata-file "$digest_file" --push . >&2
    sed -n 's/.*"containerimage.digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$digest_file"
  fi
}

for target in command query; do
  image="${prefix}microblog-$target:$tag"
  if $release; then
    digest_file=$(mktemp "${TMPDIR:-/tmp}/microblog-digest.XXXXXX")
    SCRATCH_FILES+=("$digest_file")
    index_digest=$(release_build "$target" "$image" "$digest_file")
    [[ $index_digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "no digest for $image after the push"
    say "pushed $image@$index_digest ($platforms)"
    upper=$(echo "$target" | tr '[:lower:]' '[:upper:]')
    echo "${upper}_DIGEST=$index_digest"
  else
    args=(-f "$dockerfile" --target "$target" -t "$image")
    [ -z "$platforms" ] || args+=(--platform "$platforms")
    say "$engine build ${platforms:+--platform $platforms }--target $target -t $image"
    "$engine" build "${args[@]}" . >&2
  fi
done
