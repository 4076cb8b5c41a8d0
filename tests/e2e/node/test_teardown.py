"""Stopping a node leaves nothing on the host, and a killed run is reclaimed by the next one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from controlplane import ControlPlane
from controlplane.node.teardown import NodeRecord, sandbox_ids
from controlplane.state import RunRegistry
from tests.e2e.node.residue import SLEEPER, packet_filter_rules, residue
from tests.e2e.node.runs import require_node
from tests.e2e.support import REPO


def test_stopping_the_node_leaves_no_process_mount_interface_cgroup_or_rule() -> None:
    require_node()
    plane = ControlPlane(node=True)
    rules_before = packet_filter_rules(plane.run_id)
    plane.start()
    try:
        assert plane.node is not None
        record, workdir = plane.node.record, plane.workdir
        routed_services = plane.node.services
        plane.kubectl("apply", "-f", "-", input=SLEEPER)
        plane.kubectl("wait", "--for=condition=Ready", "--timeout=120s", "pod/sleeper")
        sandboxes = sandbox_ids(record)
        running = residue(record, workdir, sandboxes)
        assert any(item.startswith("mount ") for item in running)
        assert f"interface {record.bridge}" in running
        assert sandboxes
    finally:
        plane.stop()

    assert residue(record, workdir, sandboxes) == []
    assert not workdir.exists()
    if routed_services:
        # It held the machine's Service network, so no other run changed a rule meanwhile:
        # iptables-save and ip6tables-save say what they said before it started.
        assert packet_filter_rules(plane.run_id) == rules_before


def test_a_killed_run_is_reclaimed_by_the_next() -> None:
    require_node()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.node.killed_run"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line, "the run to be killed did not start"
            report = json.loads(line)
        finally:
            os.kill(child.pid, signal.SIGKILL)
    record, workdir = NodeRecord.model_validate(report["node"]), Path(report["workdir"])
    sandboxes = sandbox_ids(record)
    assert residue(record, workdir, sandboxes) != []

    messages = RunRegistry().reclaim_stale()

    assert any("reclaimed stale run" in message for message in messages), messages
    assert residue(record, workdir, sandboxes) == []
    assert not workdir.exists()
