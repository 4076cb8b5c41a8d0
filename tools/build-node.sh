#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local node, each pinned and cached per version
# beside the control plane:
#   k8s-$K8S_VERSION/              kube-scheduler, kubelet, kube-proxy (tools/k8s, as the control plane)
#   containerd-$CONTAINERD_VERSION/ containerd, containerd-shim-runc-v2, ctr (tools/containerd)
#   runc-$RUNC_VERSION/             runc with seccomp (tools/runc; cgo and libseccomp-dev)
#   cni-$CNI_VERSION/               bridge, host-local, loopback, portmap (tools/cni)
#   pause-$PAUSE_VERSION/           pause, compiled from Kubernetes' own pause.c
#   coredns-$COREDNS_VERSION/       coredns, the cluster DNS (tools/coredns: the plugins its Corefile uses)
#   registry-$REGISTRY_VERSION/     registry, the loopback OCI registry (tools/registry: filesystem storage)
#
# Versions: containerd recommends its 2.2 and 2.3 lines for Kubernetes 1.36 (RELEASES.md,
# "Kubernetes Support"), both still run on cgroup v1; containerd 2.3 is tested with runc 1.5
# (script/setup/runc-version); pause 3.10.2 is the sandbox image containerd 2.3 pins by default.
#
# Prints one line per cache directory as its last output, in the order above.
set -euo pipefail

K8S_VERSION=v1.36.3
CONTAINERD_VERSION=v2.3.7
RUNC_VERSION=v1.5.3
CNI_VERSION=v1.10.0
PAUSE_VERSION=3.10.2
# CoreDNS 1.13 is the line Kubernetes 1.36 ships as its cluster DNS; distribution v3.0.0 is the
# registry's first v3 release.
COREDNS_VERSION=v1.13.1
REGISTRY_VERSION=v3.0.0

# Everything runs from main(), which bash parses completely before running: editing this
# file while a build is running cannot change what the running build executes.
main() {
  here=$(cd "$(dirname "$0")" && pwd)
  cache_root=${JOBSINK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jobsink}
  k8s_dir="$cache_root/k8s-$K8S_VERSION"
  containerd_dir="$cache_root/containerd-$CONTAINERD_VERSION"
  runc_dir="$cache_root/runc-$RUNC_VERSION"
  cni_dir="$cache_root/cni-$CNI_VERSION"
  pause_dir="$cache_root/pause-$PAUSE_VERSION"
  coredns_dir="$cache_root/coredns-$COREDNS_VERSION"
  registry_dir="$cache_root/registry-$REGISTRY_VERSION"
  mkdir -p "$k8s_dir" "$containerd_dir" "$runc_dir" "$cni_dir" "$pause_dir" "$coredns_dir" "$registry_dir"

  # The control-plane build writes into the same k8s directory and holds the same lock: one
  # Go build at a time on a 2-core machine, and never two writers of one binary.
  exec 9>"$k8s_dir/.build.lock"
  flock 9

  have() {  # have DIR NAME...: are all NAMEs executable in DIR?
    local dir=$1 name; shift
    for name in "$@"; do [[ -x "$dir/$name" ]] || return 1; done
  }
  all_cached() {
    have "$k8s_dir" kube-scheduler kubelet kube-proxy &&
      have "$containerd_dir" containerd containerd-shim-runc-v2 ctr &&
      have "$runc_dir" runc &&
      have "$cni_dir" bridge host-local loopback portmap &&
      have "$pause_dir" pause &&
      have "$coredns_dir" coredns &&
      have "$registry_dir" registry
  }
  report() {
    printf '%s\n' "$k8s_dir" "$containerd_dir" "$runc_dir" "$cni_dir" "$pause_dir" "$coredns_dir" "$registry_dir"
  }

  if all_cached; then
    echo "node binaries cached (kubelet $K8S_VERSION, containerd $CONTAINERD_VERSION, runc $RUNC_VERSION, CNI $CNI_VERSION, CoreDNS $COREDNS_VERSION, registry $REGISTRY_VERSION)" >&2
    report
    exit 0
  fi

  command -v go >/dev/null || { echo "error: Go is required to build the node binaries" >&2; exit 1; }
  start=$(date +%s)
  ( while sleep 30; do echo "  ... still building the node ($(( $(date +%s) - start ))s elapsed)" >&2; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT

  # build OUT_DIR NAME MODULE_DIR PACKAGE CGO TAGS LDFLAGS VERSION_CHECK
  build() {
    local out=$1 name=$2 dir=$3 pkg=$4 cgo=$5 tags=$6 flags=$7 want=$8
    have "$out" "$name" && return 0
    echo "building $name (elapsed $(( $(date +%s) - start ))s)" >&2
    # A temporary name and a rename: a killed build never leaves a broken binary behind.
    (cd "$dir" && CGO_ENABLED=$cgo go build -trimpath ${tags:+-tags "$tags"} -ldflags "$flags" \
      -o "$out/.$name.tmp" "$pkg")
    if [[ -n "$want" ]] && ! "$out/.$name.tmp" --version 2>&1 | grep -qF "$want"; then
      echo "error: $name does not report version $want" >&2
      rm -f "$out/.$name.tmp"
      exit 1
    fi
    mv "$out/.$name.tmp" "$out/$name"
    echo "built $name ($(du -h "$out/$name" | cut -f1), elapsed $(( $(date +%s) - start ))s)" >&2
  }

  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  k8s_ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  build "$k8s_dir" kube-scheduler "$here/k8s" k8s.io/kubernetes/cmd/kube-scheduler 0 "" "$k8s_ldflags" "$K8S_VERSION"
  build "$k8s_dir" kubelet "$here/k8s" k8s.io/kubernetes/cmd/kubelet 0 "" "$k8s_ldflags" "$K8S_VERSION"
  build "$k8s_dir" kube-proxy "$here/k8s" k8s.io/kubernetes/cmd/kube-proxy 0 "" "$k8s_ldflags" "$K8S_VERSION"

  # Static, as containerd's own static release: btrfs and devmapper need cgo and are unused.
  ctr_pkg=github.com/containerd/containerd/v2
  ctr_ldflags="-s -w -X $ctr_pkg/version.Version=$CONTAINERD_VERSION -X $ctr_pkg/version.Package=$ctr_pkg"
  ctr_tags="no_btrfs no_devmapper urfave_cli_no_docs"
  build "$containerd_dir" containerd "$here/containerd" "$ctr_pkg/cmd/containerd" 0 "$ctr_tags" "$ctr_ldflags" "$CONTAINERD_VERSION"
  build "$containerd_dir" containerd-shim-runc-v2 "$here/containerd" "$ctr_pkg/cmd/containerd-shim-runc-v2" 0 "$ctr_tags no_grpc" "$ctr_ldflags" ""
  build "$containerd_dir" ctr "$here/containerd" "$ctr_pkg/cmd/ctr" 0 "$ctr_tags" "$ctr_ldflags" "$CONTAINERD_VERSION"

  # runc's nsenter is C, so cgo is required; seccomp (RuntimeDefault profiles) needs libseccomp.
  if ! have "$runc_dir" runc; then
    if [[ ! -e /usr/include/seccomp.h ]]; then
      if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing libseccomp-dev (runc's seccomp support) with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev >&2
      else
        echo "error: runc needs libseccomp's headers: install libseccomp-dev (apt-get install libseccomp-dev) as root" >&2
        exit 1
      fi
    fi
    command -v gcc >/dev/null || { echo "error: runc needs a C compiler: install gcc" >&2; exit 1; }
  fi
  build "$runc_dir" runc "$here/runc" github.com/opencontainers/runc 1 "seccomp urfave_cli_no_docs" "-s -w" "${RUNC_VERSION#v}"

  for plugin in ipam/host-local main/bridge main/loopback meta/portmap; do
    build "$cni_dir" "${plugin#*/}" "$here/cni" "github.com/containernetworking/plugins/plugins/$plugin" 0 "" \
      "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_VERSION" ""
  done

  if ! have "$pause_dir" pause; then
    # The pause source ships inside the k8s.io/kubernetes module the kubelet is built from.
    source_dir=$(cd "$here/k8s" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
    echo "building pause $PAUSE_VERSION from $source_dir/build/pause/linux/pause.c" >&2
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$pause_dir/.pause.tmp" \
      "$source_dir/build/pause/linux/pause.c"
    strip "$pause_dir/.pause.tmp"
    mv "$pause_dir/.pause.tmp" "$pause_dir/pause"
  fi

  # Static (no cgo): CoreDNS runs alone in an image of its own, the registry on the host.
  build "$coredns_dir" coredns "$here/coredns" . 0 "" "-s -w" "${COREDNS_VERSION#v}"
  build "$registry_dir" registry "$here/registry" . 0 "" \
    "-s -w -X github.com/distribution/distribution/v3/version.version=$REGISTRY_VERSION" "$REGISTRY_VERSION"

  echo "node binaries built in $(( $(date +%s) - start ))s" >&2
  report
}

main "$@"
