"""Can a node run here? One sentence naming what is missing, or None.

These are the conditions under which ``jobsink dev`` quietly runs without a node (and says
why in one line). Faults found later, once a node is wanted (a clashing network range, a port
taken, a stale containerd), are errors instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from controlplane.errors import ControlPlaneError
from controlplane.node import host
from controlplane.node.binaries import buildable


def missing_controllers(hierarchies: dict[str, Path]) -> list[str]:
    return [name for name in host.REQUIRED_CONTROLLERS if name not in hierarchies]


def node_unavailable_reason() -> str | None:
    if sys.platform != "linux":
        return f"a node needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "a node needs root (containers need namespaces, cgroups and mounts); run as root"
    hierarchies = host.host_hierarchies()
    if not any(name != "unified" for name in hierarchies):
        return "no cgroup v1 hierarchy is mounted (only cgroup v2); this node supports cgroup v1"
    missing = missing_controllers(hierarchies)
    if missing:
        names = ", ".join(missing)
        return (
            f"cgroup v1 controller {names} is not mounted under /sys/fs/cgroup; "
            f"mount it (mount -t cgroup -o {missing[0]} cgroup /sys/fs/cgroup/{missing[0]})"
        )
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay filesystem (modprobe overlay)"
    for tool in ("ip", "mount"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: apt-get install iproute2 mount)"
    return buildable()


def node_wanted(
    requested: bool | None, why_not: Callable[[], str | None] = node_unavailable_reason
) -> tuple[bool, str | None]:
    """Whether to start a node, and why not when not: ``requested`` is ``--node`` (True),
    ``--no-node`` (False) or neither (None: a node whenever one can run here).

    Raises ``ControlPlaneError`` when ``--node`` was asked for and cannot be honoured.
    """
    if requested is False:
        return False, "--no-node was given"
    reason = why_not()
    if reason is None:
        return True, None
    if requested:
        raise ControlPlaneError(f"cannot start a node: {reason}")
    return False, reason
