#!/usr/bin/env bash
# Builds (or reuses) BuildKit's daemon and client, pinned and cached per version beside the
# node's binaries:
#   buildkit-$BUILDKIT_VERSION/   buildkitd, buildctl (tools/buildkit)
#
# `make image` runs buildkitd with its containerd worker on a containerd of the pinned node
# release (tools/build-node.sh builds it); BuildKit's own containerd client speaks the same
# v1 gRPC API.
#
# Prints the cache directory as its last output.
set -euo pipefail

BUILDKIT_VERSION=v0.26.2

# Everything runs from main(), which bash parses completely before running: editing this
# file while a build is running cannot change what the running build executes.
main() {
  here=$(cd "$(dirname "$0")" && pwd)
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  out="$cache_root/buildkit-$BUILDKIT_VERSION"
  mkdir -p "$out"

  exec 9>"$out/.build.lock"
  flock 9

  if [[ -x "$out/buildkitd" && -x "$out/buildctl" ]]; then
    echo "buildkit cached ($BUILDKIT_VERSION)" >&2
    echo "$out"
    exit 0
  fi

  command -v go >/dev/null || { echo "error: Go is required to build BuildKit" >&2; exit 1; }
  start=$(date +%s)
  ( while sleep 30; do echo "  ... still building buildkit ($(( $(date +%s) - start ))s elapsed)" >&2; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT

  # One `go build` for both commands: their many shared packages compile once, in parallel.
  # Static and without cgo, with the tags BuildKit's own release build uses for buildkitd.
  pkg=github.com/moby/buildkit
  scratch="$out/.tmp"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  echo "building buildkitd and buildctl $BUILDKIT_VERSION" >&2
  (cd "$here/buildkit" && CGO_ENABLED=0 go build -trimpath -tags "osusergo netgo static_build seccomp" \
    -ldflags "-s -w -X $pkg/version.Version=$BUILDKIT_VERSION -X $pkg/version.Package=$pkg" \
    -o "$scratch/" "$pkg/cmd/buildkitd" "$pkg/cmd/buildctl")
  for name in buildkitd buildctl; do
    if ! "$scratch/$name" --version 2>&1 | grep -qF "$BUILDKIT_VERSION"; then
      echo "error: $name does not report version $BUILDKIT_VERSION" >&2
      exit 1
    fi
  done
  # A temporary directory and a rename: a killed build never leaves a broken binary behind.
  mv "$scratch/buildkitd" "$scratch/buildctl" "$out/"
  rmdir "$scratch"
  echo "buildkit built in $(( $(date +%s) - start ))s ($(du -sh "$out" | cut -f1))" >&2
  echo "$out"
}

main "$@"
