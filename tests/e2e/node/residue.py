"""What a node could leave on the host, looked up by the names its run recorded."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from controlplane.node import host
from controlplane.node.firewall import CHAIN_PREFIX, chain_prefix, rule_lines, save
from controlplane.node.teardown import CNI_RESULTS, LOOPBACK_NETWORK, NodeRecord

SLEEPER = """\
apiVersion: v1
kind: Pod
metadata: {name: sleeper, namespace: default}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: docker.io/library/bash:5
      command: ["sleep", "300"]
"""


def residue(record: NodeRecord, workdir: Path, sandboxes: set[str]) -> list[str]:
    """Everything of the run still on the host; empty when it is fully gone. ``sandboxes``:
    the ids of its Pod sandboxes, taken while it ran (its own records of them go with it)."""
    found: list[str] = []
    directories = [workdir, Path(record.runtime_dir)]
    found += [f"process {pid}" for d in directories for pid in host.processes_mentioning(d)]
    found += [f"process {pid} in the run's cgroup" for pid in host.cgroup_pids(record.cgroup)]
    mountinfo = host.MOUNTINFO.read_text()
    found += [f"mount {point}" for d in directories for point in host.mounts_below(d, mountinfo)]
    if host.link_exists(record.bridge):
        found.append(f"interface {record.bridge}")
    found += [
        f"cgroup {mount / record.cgroup.lstrip('/')}"
        for mount in set(host.host_hierarchies().values())
        if (mount / record.cgroup.lstrip("/")).exists()
    ]
    found += [f"file {path}" for path in CNI_RESULTS.glob(f"{record.network}-*")]
    found += [
        f"file {path}"
        for sandbox in sandboxes
        if (path := CNI_RESULTS / f"{LOOPBACK_NETWORK}-{sandbox}-lo").exists()
    ]
    if Path(record.runtime_dir).exists():
        found.append(f"directory {record.runtime_dir}")
    marks = [record.network, *([record.chain_prefix] if record.chain_prefix else [])]
    for family in ("iptables", "ip6tables"):
        save = shutil.which(f"{family}-save")
        if save:
            rules = subprocess.run([save], capture_output=True, text=True, check=False)
            found += [
                f"{family} rule {line}"
                for line in rules.stdout.splitlines()
                if any(mark in line for mark in marks)
            ]
    return found


def packet_filter_rules(run_id: str) -> list[str]:
    """Every rule and user chain of the machine, IPv4 and IPv6 (see ``firewall.rule_lines``),
    but the chains of other runs: nodes of other test sessions on this machine come and go with
    their own ``JSK-<run>-`` chains while this one runs, and are theirs to clean."""
    own = chain_prefix(run_id)
    return [
        f"{family} {line}"
        for family in ("iptables", "ip6tables")
        if shutil.which(f"{family}-save")
        for line in rule_lines(save(family))
        if CHAIN_PREFIX not in line or own in line
    ]
