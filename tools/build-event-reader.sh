#!/usr/bin/env bash
# Builds (or reuses) tools/event-reader, the documentation's Go snippet that reads the Job's
# event file with the CloudEvents Go SDK, as a static binary cached per SDK version:
#   event-reader-$SDK_VERSION/event-reader
# The cluster tests put it in an image and run it as a JobSink's container.
#
# Prints the binary's path as its last output.
set -euo pipefail

SDK_VERSION=v2.16.2

main() {
  here=$(cd "$(dirname "$0")" && pwd)
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  out="$cache_root/event-reader-$SDK_VERSION"
  mkdir -p "$out"
  exec 9>"$out/.build.lock"
  flock 9
  # The sources are an input too: a changed program is rebuilt.
  key=$(cat "$here/event-reader/go.mod" "$here/event-reader/go.sum" "$here/event-reader/main.go" \
    | sha256sum | cut -c1-16)
  if [[ -x "$out/event-reader" && "$(cat "$out/.key" 2>/dev/null)" == "$key" ]]; then
    echo "$out/event-reader"
    exit 0
  fi
  command -v go >/dev/null || { echo "error: Go is required to build the event reader" >&2; exit 1; }
  grep -qF "github.com/cloudevents/sdk-go/v2 $SDK_VERSION" "$here/event-reader/go.mod" \
    || { echo "error: tools/event-reader/go.mod does not pin sdk-go $SDK_VERSION" >&2; exit 1; }
  start=$(date +%s)
  (cd "$here/event-reader" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath \
    -ldflags "-s -w" -o "$out/.event-reader.tmp" .)
  mv "$out/.event-reader.tmp" "$out/event-reader"
  echo "$key" >"$out/.key"
  echo "event reader built in $(( $(date +%s) - start ))s" >&2
  echo "$out/event-reader"
}

main "$@"
