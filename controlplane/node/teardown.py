"""Undoing everything a node did to the host, for a clean stop and for a killed run alike.

What one node leaves on the host besides its processes, all named after its run: a cgroup
tree (containerd, its shims and every container live there), mounts below its directories
(container root filesystems, Secret volumes, network namespaces), a bridge, the CNI result
cache files containerd's CNI library keeps in ``/var/lib/cni/results``, and, when it routed
Services, its own ``JSK-<run>`` chains and kube-proxy's ``KUBE-*`` ones (see ``firewall``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel

from controlplane.node import firewall, host

#: Where libcni caches results; its default, which containerd does not let us move. Files are
#: named ``<network>-<sandbox id>-<interface>``; containerd's own loopback network is one of them.
CNI_RESULTS = Path("/var/lib/cni/results")
LOOPBACK_NETWORK = "cni-loopback"
#: Where containerd's CRI keeps one directory per Pod sandbox, relative to the node's root.
SANDBOXES = Path("containerd/state/io.containerd.grpc.v1.cri/sandboxes")
#: The kubelet's device-plugin registration socket: a constant in Kubernetes 1.36, not a setting.
DEVICE_PLUGIN_SOCKET = Path("/var/lib/kubelet/device-plugins/kubelet.sock")


class NodeRecord(BaseModel):
    """What a later run needs to know to undo this node (saved before any of it exists)."""

    root: str
    runtime_dir: str
    cgroup: str
    bridge: str
    network: str
    #: Set once the run holds the Service network: its chains' prefix and kube-proxy binary.
    chain_prefix: str | None = None
    kube_proxy: str | None = None


class TeardownIncomplete(RuntimeError):
    """Something could not be undone; the message lists it."""


def teardown_node(
    record: NodeRecord, service_lock: firewall.ServiceNetworkLock | None = None
) -> list[str]:
    """Kill, unmount, delete; returns what was done. Raises if anything is left behind.

    ``service_lock``: the run's own hold on the Service network, released at the end; a run
    recorded as routing Services without one (a killed run) has kube-proxy's rules removed
    only if the lock is free, since a live holder's rules are the same chains."""
    done: list[str] = []
    killed = host.kill_cgroup(record.cgroup)
    if killed:
        done.append(f"killed {killed} container and shim processes")
    directories = [Path(record.root), Path(record.runtime_dir)]
    still_mounted = host.unmount_below(directories)
    deleted_links = host.delete_bridge(record.bridge)
    if deleted_links:
        done.append(f"deleted network interfaces {', '.join(deleted_links)}")
    busy_cgroups = host.remove_cgroup(record.cgroup)
    _remove_cni_results(record)
    _remove_shared_leftovers()
    rules_left = _remove_rules(record, service_lock)
    if record.chain_prefix or record.kube_proxy:
        done.append("removed the run's packet-filter rules")
    problems = [f"still mounted: {point}" for point in still_mounted]
    problems += [f"cgroup still busy: {cgroup}" for cgroup in busy_cgroups]
    problems += rules_left
    if problems:
        raise TeardownIncomplete("; ".join(problems))
    shutil.rmtree(record.runtime_dir, ignore_errors=True)
    return done


def _remove_rules(
    record: NodeRecord, service_lock: firewall.ServiceNetworkLock | None
) -> list[str]:
    problems: list[str] = []
    if record.chain_prefix:
        problems += firewall.remove_chains(record.chain_prefix)
    lock = service_lock or firewall.ServiceNetworkLock()
    try:
        if record.kube_proxy and (
            lock.held or lock.try_acquire(f"clean-up of {record.root}") is None
        ):
            error = firewall.kube_proxy_cleanup(Path(record.kube_proxy))
            if error:
                problems.append(error)
            # --cleanup leaves KUBE-FIREWALL (the iptables proxier makes it, the kubelet used
            # to): every KUBE- chain on this machine was this run's, since it held the lock.
            problems += firewall.remove_chains(firewall.KUBE_PROXY_PREFIX)
    finally:
        lock.release()
    return problems


def sandbox_ids(record: NodeRecord) -> set[str]:
    """The run's Pod sandboxes: from its CNI result files and from containerd's state."""
    prefix = f"{record.network}-"
    ids = {
        cached.name.removeprefix(prefix).rsplit("-", 1)[0]
        for cached in CNI_RESULTS.glob(f"{prefix}*")
    }
    sandboxes = Path(record.root) / SANDBOXES
    if sandboxes.is_dir():
        ids.update(entry.name for entry in sandboxes.iterdir())
    return ids


def _remove_cni_results(record: NodeRecord) -> None:
    """Result files of the run's network and of the loopback network of its sandboxes (both
    stay when a sandbox is killed rather than torn down through CNI)."""
    for sandbox in sandbox_ids(record):
        (CNI_RESULTS / f"{LOOPBACK_NETWORK}-{sandbox}-lo").unlink(missing_ok=True)
    for cached in CNI_RESULTS.glob(f"{record.network}-*"):
        cached.unlink(missing_ok=True)


def _remove_empty(directories: list[Path]) -> None:
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (another run uses it) or already gone: keep the parents too


def _remove_shared_leftovers() -> None:
    """The fixed-path files every kubelet and containerd of this version create, removed once
    no kubelet is left running (another run's kubelet may be using them)."""
    if not host.processes_named("kubelet"):
        DEVICE_PLUGIN_SOCKET.unlink(missing_ok=True)
        _remove_empty([DEVICE_PLUGIN_SOCKET.parent, DEVICE_PLUGIN_SOCKET.parent.parent])
    _remove_empty([CNI_RESULTS, CNI_RESULTS.parent])


def safe_to_remove(directory: Path) -> bool:
    """True when nothing is mounted at or below ``directory`` (after trying to unmount).

    Deleting a tree that still has a container's root filesystem or a host path mounted in it
    would delete files outside it, so no work directory is removed before this holds.
    """
    return not host.unmount_below([directory])
