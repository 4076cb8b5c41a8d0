#!/usr/bin/env bash
# Builds (or reuses) the local control-plane binaries pinned to one Kubernetes release:
# kube-apiserver and kube-controller-manager from tools/k8s, etcd from tools/etcd.
#
# Binaries go to a per-version cache outside the repository, so a clone never carries
# them and a second build is a no-op. A binary found in $KUBEBUILDER_ASSETS (envtest
# assets: etcd and kube-apiserver, but no kube-controller-manager) is not built.
#
# Prints the cache directory as its last line of output (or $KUBEBUILDER_ASSETS when it
# holds all three binaries).
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
# Everything runs from main(), which bash parses completely before running: editing this
# file while a build is running (minutes) cannot change what the running build executes.
main() {
  here=$(cd "$(dirname "$0")" && pwd)
  bins=(kube-apiserver kube-controller-manager etcd)

  assets=${KUBEBUILDER_ASSETS:-}
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  out="$cache_root/k8s-$K8S_VERSION"

  present() {  # present NAME DIR...: is NAME executable in one of DIRs?
    local name=$1 dir; shift
    for dir in "$@"; do [[ -n "$dir" && -x "$dir/$name" ]] && return 0; done
    return 1
  }
  have_all() {
    local b
    for b in "${bins[@]}"; do present "$b" "$@" || return 1; done
  }

  if [[ -n "$assets" ]] && have_all "$assets"; then
    echo "using KUBEBUILDER_ASSETS=$assets" >&2
    echo "$assets"
    exit 0
  fi

  mkdir -p "$out"
  # One build at a time per cache directory: concurrent `make test` runs wait here.
  exec 9>"$out/.build.lock"
  flock 9

  if have_all "$assets" "$out"; then
    echo "control plane $K8S_VERSION cached in $out${assets:+ (and KUBEBUILDER_ASSETS=$assets)}" >&2
    echo "$out"
    exit 0
  fi

  command -v go >/dev/null || { echo "error: Go is required to build the control plane" >&2; exit 1; }
  export CGO_ENABLED=0
  start=$(date +%s)

  # A heartbeat, so a cold build (5-10 minutes on 2 cores) never looks hung.
  ( while sleep 30; do echo "  ... still building ($(( $(date +%s) - start ))s elapsed)" >&2; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT

  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done

  build() {  # build NAME MODULE_DIR PACKAGE LDFLAGS
    local name=$1 dir=$2 pkg=$3 flags=$4
    present "$name" "$assets" "$out" && return 0
    echo "building $name (elapsed $(( $(date +%s) - start ))s)" >&2
    # Build to a temporary name and rename, so a killed build never leaves a broken binary.
    (cd "$dir" && go build -trimpath -ldflags "$flags" -o "$out/.$name.tmp" "$pkg")
    # A binary that does not report the pinned version (wrong -X path, wrong module) never
    # reaches the cache: /version is what the e2e suite and users check.
    local want=$K8S_VERSION; [[ $name == etcd ]] && want=${ETCD_VERSION#v}
    if ! "$out/.$name.tmp" --version 2>&1 | grep -qF "$want"; then
      echo "error: $name does not report version $want" >&2
      rm -f "$out/.$name.tmp"
      exit 1
    fi
    mv "$out/.$name.tmp" "$out/$name"
    echo "built $name ($(du -h "$out/$name" | cut -f1), elapsed $(( $(date +%s) - start ))s)" >&2
  }

  build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "-s -w"
  build kube-apiserver "$here/k8s" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
  build kube-controller-manager "$here/k8s" k8s.io/kubernetes/cmd/kube-controller-manager "$ldflags"

  echo "control plane $K8S_VERSION (etcd $ETCD_VERSION) built in $(( $(date +%s) - start ))s into $out" >&2
  echo "$out"
}

main "$@"
