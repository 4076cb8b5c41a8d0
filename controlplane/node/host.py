"""The host resources a node uses beyond processes: cgroups, mounts and network links.

Each function acts only on what it is given by name (the run's cgroup, the run's directories,
the run's bridge), so cleaning up one run never touches another run or the host's own state.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

CGROUP_MOUNT = Path("/sys/fs/cgroup")
MOUNTINFO = Path("/proc/self/mountinfo")
MNT_DETACH = 2
#: cgroup v1 controllers the kubelet and runc need (the kubelet checks the same list).
REQUIRED_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")


# -- cgroups -------------------------------------------------------------------------------


def known_controllers(proc_cgroups_text: str) -> set[str]:
    """Controller names the kernel offers, from ``/proc/cgroups`` text."""
    return {
        line.split()[0]
        for line in proc_cgroups_text.splitlines()
        if line.strip() and not line.startswith("#")
    }


def cgroup_hierarchies(mounts_text: str, controllers: set[str]) -> dict[str, Path]:
    """Mounted cgroup hierarchies from ``/proc/mounts`` text: controller (or ``name=...``
    for a named v1 hierarchy, or ``unified`` for cgroup2) -> mount point."""
    found: dict[str, Path] = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mount_point, fs_type, options = fields[1], fields[2], fields[3].split(",")
        if fs_type == "cgroup2":
            found.setdefault("unified", Path(mount_point))
        elif fs_type == "cgroup":
            for option in options:
                if option in controllers or option.startswith("name="):
                    found.setdefault(option, Path(mount_point))
    return found


def host_hierarchies() -> dict[str, Path]:
    return cgroup_hierarchies(
        Path("/proc/mounts").read_text(), known_controllers(Path("/proc/cgroups").read_text())
    )


def _cgroup_dirs(name: str) -> list[Path]:
    """The run's cgroup in every mounted hierarchy, wherever it exists."""
    unique = {mount / name.lstrip("/") for mount in host_hierarchies().values()}
    return sorted(path for path in unique if path.is_dir())


def create_cgroup(name: str) -> None:
    """Create ``name`` in every cgroup v1 hierarchy (the kubelet requires its root to exist)."""
    for controller, mount in host_hierarchies().items():
        if controller == "unified":
            continue
        path = mount / name.lstrip("/")
        path.mkdir(parents=True, exist_ok=True)
        if controller == "cpuset":
            # A new v1 cpuset starts empty, and a task cannot join an empty cpuset.
            for setting in ("cpuset.cpus", "cpuset.mems"):
                own = path / setting
                if not own.read_text().strip():
                    own.write_text((path.parent / setting).read_text())


def _walk_cgroups(top: Path) -> Iterator[Path]:
    """``top`` and every cgroup below it, deepest first."""
    for directory, _subdirs, _files in os.walk(top, topdown=False):
        yield Path(directory)


def cgroup_pids(name: str) -> set[int]:
    pids: set[int] = set()
    for top in _cgroup_dirs(name):
        for cgroup in _walk_cgroups(top):
            with contextlib.suppress(OSError):
                pids.update(int(pid) for pid in (cgroup / "cgroup.procs").read_text().split())
    return pids


def kill_cgroup(name: str, timeout: float = 10.0) -> int:
    """SIGKILL every process in the run's cgroup tree until none is left; returns how many.

    Everything there was started by this run's containerd (itself, its shims, the containers),
    so nothing else can be hit. Freezing first would be tidier but the freezer is optional.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while pids := cgroup_pids(name):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return len(killed)


def remove_cgroup(name: str, timeout: float = 10.0) -> list[Path]:
    """rmdir the run's cgroup tree in every hierarchy; returns what could not be removed.

    A cgroup whose last task has just died may stay busy until the task is reaped, so busy
    directories are retried until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        left: list[Path] = []
        for top in _cgroup_dirs(name):
            for cgroup in _walk_cgroups(top):
                try:
                    cgroup.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as error:
                    if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        raise
                    left.append(cgroup)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


# -- mounts --------------------------------------------------------------------------------


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mount_points(mountinfo_text: str) -> list[Path]:
    """Mount points listed in ``/proc/self/mountinfo`` text, in mount order."""
    points = []
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(Path(_unescape(fields[4])))
    return points


def mounts_below(directory: Path, mountinfo_text: str) -> list[Path]:
    """Mount points at or below ``directory``, deepest (and latest) first."""
    inside = [
        point
        for point in mount_points(mountinfo_text)
        if point == directory or directory in point.parents
    ]
    return list(reversed(inside))


def _umount2(path: Path) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(path), MNT_DETACH) != 0:
        return ctypes.get_errno()
    return 0


def unmount_below(directories: list[Path], timeout: float = 10.0) -> list[Path]:
    """Lazily unmount everything mounted at or below ``directories`` (stacked mounts too);
    returns what is still mounted when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        text = MOUNTINFO.read_text()
        remaining = [point for top in directories for point in mounts_below(top, text)]
        if not remaining or time.monotonic() > deadline:
            return remaining
        for point in remaining:
            _umount2(point)


# -- network links -------------------------------------------------------------------------


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)


def ip_routes() -> str:
    """``ip -j route show table all``: every route of the host, as JSON."""
    return _ip("-j", "route", "show", "table", "all").stdout


def link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name).returncode == 0


def create_bridge(bridge: str, address: str) -> None:
    """The run's bridge with ``address`` (``a.b.c.d/len``) on its host side, up, forwarding
    only what arrives on it (the machine-wide switch stays as it is)."""
    for args in (
        ("link", "add", bridge, "type", "bridge"),
        ("addr", "add", address, "dev", bridge),
        ("link", "set", bridge, "up"),
    ):
        result = _ip(*args)
        if result.returncode != 0:
            raise OSError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").write_text("1\n")


def delete_bridge(bridge: str) -> list[str]:
    """Delete the run's bridge and any interface still enslaved to it; returns what was deleted.

    A Pod's veth disappears with its network namespace; one still listed here had its namespace
    pinned when the run ended, and deleting the host end removes its peer too.
    """
    deleted: list[str] = []
    if not link_exists(bridge):
        return deleted
    listing = _ip("-j", "link", "show", "master", bridge)
    for link in json.loads(listing.stdout or "[]"):
        name = str(link.get("ifname", ""))
        if name and _ip("link", "delete", "dev", name).returncode == 0:
            deleted.append(name)
    if _ip("link", "delete", "dev", bridge).returncode == 0:
        deleted.append(bridge)
    return deleted


# -- processes -----------------------------------------------------------------------------


def processes_named(name: str) -> list[int]:
    """Pids whose executable's base name is ``name`` (from ``/proc/<pid>/comm``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
    return found


def processes_mentioning(path: Path) -> list[int]:
    """Pids (other than ours) whose command line mentions ``path``."""
    needle = os.fsencode(path)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found
