#!/usr/bin/env bash
# Builds (or reuses) Kueue's controller manager, pinned to one release of the Go module
# sigs.k8s.io/kueue, and copies the pieces of the module's config/ the local control plane
# installs beside it:
#   kueue-$KUEUE_VERSION/kueue                    the manager (cmd/kueue)
#   kueue-$KUEUE_VERSION/config/crd/*.yaml        config/components/crd/bases
#   kueue-$KUEUE_VERSION/config/rbac/role.yaml    config/components/rbac/role.yaml (the manager's ClusterRole)
#   kueue-$KUEUE_VERSION/config/rbac/secrets-role.yaml  config/components/rbac/manager_secrets_role.yaml
#                                                 (the Role on Secrets of Kueue's own namespace)
#   kueue-$KUEUE_VERSION/config/webhook.yaml      config/components/webhook/manifests.yaml
#
# `go install module/cmd@version` builds the module exactly as published (its own go.mod and
# go.sum, checked against the checksum database), so the pin is the version string alone and
# no wrapper module is needed: Kueue's go.mod has no replace directives.
#
# Prints the cache directory as its last line of output.
set -euo pipefail

KUEUE_VERSION=v0.17.0
KUEUE_MODULE=sigs.k8s.io/kueue

# Everything runs from main(), which bash parses completely before running: editing this
# file while a build is running cannot change what the running build executes.
main() {
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  out="$cache_root/kueue-$KUEUE_VERSION"
  mkdir -p "$out"
  exec 9>"$out/.build.lock"
  flock 9

  cached() {
    [[ -x "$out/kueue" && -s "$out/config/rbac/role.yaml" && -s "$out/config/rbac/secrets-role.yaml" &&
      -s "$out/config/webhook.yaml" ]] &&
      compgen -G "$out/config/crd/*.yaml" >/dev/null
  }
  if cached; then
    echo "kueue $KUEUE_VERSION cached in $out" >&2
    echo "$out"
    exit 0
  fi

  command -v go >/dev/null || { echo "error: Go is required to build Kueue" >&2; exit 1; }
  start=$(date +%s)
  ( while sleep 30; do echo "  ... still building kueue ($(( $(date +%s) - start ))s elapsed)" >&2; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT

  if [[ ! -x "$out/kueue" ]]; then
    echo "building kueue $KUEUE_VERSION" >&2
    local tmp="$out/.gobin.tmp" version_pkg="$KUEUE_MODULE/pkg/version"
    rm -rf "$tmp"
    # GOTOOLCHAIN=local: the installed Go builds it (v0.17.0's go.mod says `go 1.25.0` and names
    # no toolchain), never one downloaded because a later release asks for it.
    GOBIN="$tmp" CGO_ENABLED=0 GOTOOLCHAIN=local go install -trimpath \
      -ldflags "-s -w -X $version_pkg.GitVersion=$KUEUE_VERSION -X $version_pkg.BuildDate=1970-01-01T00:00:00Z" \
      "$KUEUE_MODULE/cmd/kueue@$KUEUE_VERSION"
    # The manager has no --version flag; its build information names the module version it
    # was built from, which is the pin that matters.
    if ! go version -m "$tmp/kueue" | grep -qE "^[[:space:]]+mod[[:space:]]+$KUEUE_MODULE[[:space:]]+$KUEUE_VERSION[[:space:]]"; then
      echo "error: the kueue binary was not built from $KUEUE_MODULE $KUEUE_VERSION" >&2
      rm -rf "$tmp"
      exit 1
    fi
    mv "$tmp/kueue" "$out/kueue"
    rm -rf "$tmp"
    echo "built kueue ($(du -h "$out/kueue" | cut -f1), elapsed $(( $(date +%s) - start ))s)" >&2
  fi

  local src
  src=$(GOTOOLCHAIN=local go mod download -json "$KUEUE_MODULE@$KUEUE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "$src/config/components" ]] || { echo "error: no config/components in $src" >&2; exit 1; }
  rm -rf "$out/.config.tmp"
  mkdir -p "$out/.config.tmp/crd" "$out/.config.tmp/rbac"
  cp "$src"/config/components/crd/bases/*.yaml "$out/.config.tmp/crd/"
  cp "$src/config/components/rbac/role.yaml" "$out/.config.tmp/rbac/role.yaml"
  cp "$src/config/components/rbac/manager_secrets_role.yaml" "$out/.config.tmp/rbac/secrets-role.yaml"
  cp "$src/config/components/webhook/manifests.yaml" "$out/.config.tmp/webhook.yaml"
  # The module cache is read-only; the copies need not be.
  chmod -R u+w "$out/.config.tmp"
  rm -rf "$out/config"
  mv "$out/.config.tmp" "$out/config"

  echo "kueue $KUEUE_VERSION built in $(( $(date +%s) - start ))s into $out" >&2
  echo "$out"
}

main "$@"
