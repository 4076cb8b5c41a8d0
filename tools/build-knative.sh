#!/usr/bin/env bash
# Builds (or reuses) the Knative Eventing components the local cluster runs, pinned to one
# release of the Go module knative.dev/eventing, and copies the parts of the module's config/
# the control plane installs:
#   knative-$KNATIVE_VERSION/bin/<name>        one static binary per command below
#   knative-$KNATIVE_VERSION/config/core/...   config/core (CRDs, RBAC, config maps, webhooks,
#                                              Deployments with ko:// image references)
#   knative-$KNATIVE_VERSION/config/in-memory-channel/...   config/channels/in-memory-channel
#   knative-$KNATIVE_VERSION/config/mt-channel-broker/...   config/brokers/mt-channel-broker
#
# All commands are built by ONE `go build` inside the module's own directory in the module
# cache: the packages they share (knative.dev/pkg, client-go, the eventing APIs) compile once,
# and the module's go.mod and go.sum (verified by `go mod download` against the checksum
# database) decide every dependency, so the pin is the version string alone.
#
# Prints the cache directory as its last line of output.
set -euo pipefail

KNATIVE_VERSION=v0.50.0
KNATIVE_MODULE=knative.dev/eventing
# The commands named by the Deployments of config/core, the in-memory channel and the
# multi-tenant channel broker (their ko:// references), plus event_display, Knative's own event
# logger, which tests use as a subscriber that is not JobSink for Python.
KNATIVE_COMMANDS=(
  controller webhook jobsink mtping
  in_memory/channel_controller in_memory/channel_dispatcher
  mtchannel_broker broker/ingress broker/filter
  event_display
)

main() {
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  out="$cache_root/knative-$KNATIVE_VERSION"
  mkdir -p "$out"
  exec 9>"$out/.build.lock"
  flock 9

  binary_name() { echo "${1//\//-}"; }
  cached() {
    local command
    for command in "${KNATIVE_COMMANDS[@]}"; do
      [[ -x "$out/bin/$(binary_name "$command")" ]] || return 1
    done
    [[ -d "$out/config/core" && -d "$out/config/in-memory-channel" && -d "$out/config/mt-channel-broker" ]]
  }
  if cached; then
    echo "knative $KNATIVE_VERSION cached in $out" >&2
    echo "$out"
    exit 0
  fi

  command -v go >/dev/null || { echo "error: Go is required to build Knative Eventing" >&2; exit 1; }
  start=$(date +%s)
  ( while sleep 30; do echo "  ... still building knative ($(( $(date +%s) - start ))s elapsed)" >&2; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT

  local src
  # GOTOOLCHAIN=local: the installed Go builds it (v0.50.0's go.mod says `go 1.25.0` and names
  # no toolchain), never one downloaded because a later release asks for it.
  src=$(GOTOOLCHAIN=local go mod download -json "$KNATIVE_MODULE@$KNATIVE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -f "$src/go.mod" && -d "$src/config/core" ]] || { echo "error: no module source in '$src'" >&2; exit 1; }

  echo "building knative $KNATIVE_VERSION: ${KNATIVE_COMMANDS[*]}" >&2
  local tmp="$out/.bin.tmp" packages=() command
  rm -rf "$tmp"
  mkdir -p "$tmp"
  for command in "${KNATIVE_COMMANDS[@]}"; do packages+=("./cmd/$command"); done
  # -mod=mod: the module cache is read-only and has no vendor/ directory; go.sum is complete, so
  # nothing is rewritten. GOFLAGS may carry -buildvcs=false already; the module directory is no
  # VCS checkout either way.
  (cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local \
    go build -trimpath -ldflags "-s -w" -o "$tmp/" "${packages[@]}")
  # `go build -o dir/` names each binary after the last element of its package path (ingress,
  # filter, channel_dispatcher); bin/ names them after the whole path under cmd/, slashes as
  # dashes (broker-ingress), which says which component each one is.
  mkdir -p "$out/.bin.final"
  for command in "${KNATIVE_COMMANDS[@]}"; do
    mv "$tmp/$(basename "$command")" "$out/.bin.final/$(binary_name "$command")"
  done
  rm -rf "$tmp" "$out/bin"
  mv "$out/.bin.final" "$out/bin"
  echo "built ${#KNATIVE_COMMANDS[@]} knative binaries ($(du -sh "$out/bin" | cut -f1), elapsed $(( $(date +%s) - start ))s)" >&2

  rm -rf "$out/.config.tmp"
  mkdir -p "$out/.config.tmp"
  cp -r "$src/config/core" "$out/.config.tmp/core"
  cp -r "$src/config/channels/in-memory-channel" "$out/.config.tmp/in-memory-channel"
  cp -r "$src/config/brokers/mt-channel-broker" "$out/.config.tmp/mt-channel-broker"
  # The module cache is read-only; the copies need not be. Only the YAML is config.
  chmod -R u+w "$out/.config.tmp"
  find "$out/.config.tmp" -type f ! -name '*.yaml' -delete
  rm -rf "$out/config"
  mv "$out/.config.tmp" "$out/config"

  echo "knative $KNATIVE_VERSION built in $(( $(date +%s) - start ))s into $out" >&2
  echo "$out"
}

main "$@"
