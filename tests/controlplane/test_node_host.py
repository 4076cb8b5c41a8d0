"""Reading the host's cgroup hierarchies, mounts and package lists (pure parsers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.node.host import (
    cgroup_hierarchies,
    known_controllers,
    mount_points,
    mounts_below,
)
from controlplane.node.images import DebianImage, cache_key, dependency_closure
from controlplane.node.preflight import missing_controllers

PROC_CGROUPS = """#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
memory\t4\t48\t1
devices\t5\t1\t1
freezer\t6\t1\t1
pids\t8\t1\t1
"""
V1_MOUNTS = """\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""


def test_v1_hierarchies_are_found_by_controller() -> None:
    found = cgroup_hierarchies(V1_MOUNTS, known_controllers(PROC_CGROUPS))
    assert found == {
        "cpu": Path("/sys/fs/cgroup/cpu,cpuacct"),
        "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct"),
        "cpuset": Path("/sys/fs/cgroup/cpuset"),
        "memory": Path("/sys/fs/cgroup/memory"),
        "name=systemd": Path("/sys/fs/cgroup/systemd"),
        "unified": Path("/sys/fs/cgroup/unified"),
    }
    assert missing_controllers(found) == ["pids", "devices", "freezer"]


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
501 22 0:60 / /work/run/node/kubelet/pods/u1/volumes/secret rw - tmpfs tmpfs rw
502 22 0:61 / /work/run/node/containerd/state/k8s.io/c1/rootfs rw - overlay overlay rw
503 22 0:62 / /work/run\\040two/node/x rw - tmpfs tmpfs rw
504 22 0:63 / /work/runner/node rw - tmpfs tmpfs rw
505 502 0:64 / /work/run/node/containerd/state/k8s.io/c1/rootfs/proc rw - proc proc rw
"""


def test_mount_points_are_unescaped() -> None:
    assert Path("/work/run two/node/x") in mount_points(MOUNTINFO)


def test_mounts_below_a_directory_come_deepest_and_latest_first() -> None:
    assert mounts_below(Path("/work/run/node"), MOUNTINFO) == [
        Path("/work/run/node/containerd/state/k8s.io/c1/rootfs/proc"),
        Path("/work/run/node/containerd/state/k8s.io/c1/rootfs"),
        Path("/work/run/node/kubelet/pods/u1/volumes/secret"),
    ]
    assert mounts_below(Path("/elsewhere"), MOUNTINFO) == []


APT_CACHE_DEPENDS = """\
bash
  PreDepends: libc6
  Depends: base-files
coreutils
  PreDepends: libacl1
libc6
  Depends: libgcc-s1
<awk>
libgcc-s1
base-files
  Depends: <awk>
    mawk
mawk
libacl1
"""


def test_the_dependency_closure_leaves_virtual_packages_out() -> None:
    assert dependency_closure(APT_CACHE_DEPENDS) == [
        "base-files", "bash", "coreutils", "libacl1", "libc6", "libgcc-s1", "mawk",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "other",
    [
        DebianImage("docker.io/library/bash:5", ("bash",), ("bash",)),
        DebianImage("docker.io/library/bash:4", ("bash", "coreutils"), ("bash",)),
        DebianImage("docker.io/library/bash:5", ("bash", "coreutils"), ("sh",)),
    ],
)
def test_an_image_is_cached_under_a_key_of_everything_that_shapes_it(other: DebianImage) -> None:
    image = DebianImage("docker.io/library/bash:5", ("bash", "coreutils"), ("bash",))
    assert cache_key(image) == cache_key(DebianImage(*(image.reference, image.packages, image.cmd)))
    assert cache_key(image) != cache_key(other)
