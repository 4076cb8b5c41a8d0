"""Faults a cluster meets, injected into a dedicated local control plane and its receivers.

Each fault breaks one thing, waits, repairs it and returns once the repair is done. They act on
the processes' own pids (never by name), from the test side: the control plane's process
handles give the pids and command lines, and a restarted component is spawned through
``ControlPlane.spawn`` so that it is still stopped with the plane (and reclaimed by a later run
if this one is killed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cli import stack
from controlplane import ControlPlane, ControlPlaneError, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import HttpsProbe, wait_for

RECOVERY_TIMEOUT = 120.0


class Fault(Protocol):
    """Something that goes wrong: ``inject`` blocks until it has been repaired."""

    @property
    def name(self) -> str: ...

    def inject(self) -> None: ...


def kill_hard(process: ManagedProcess) -> None:
    """SIGKILL the process group (no chance to drain or finish a write), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.popen.wait()


def running_component(plane: ControlPlane, name: str) -> ManagedProcess:
    """The live process of component ``name`` (``kube-apiserver``, or its latest restart)."""
    for process in reversed(plane.processes):
        if (process.name == name or process.name.startswith(f"{name}-restart-")) and (
            process.running
        ):
            return process
    raise ControlPlaneError(f"no running {name} in this control plane")


@dataclass
class ReceiverProcess:
    """``jobsink receiver`` on a port of its own that a restart keeps (senders keep their URL)."""

    plane: ControlPlane
    name: str
    port: int
    env: Mapping[str, str]
    process: ManagedProcess
    restarts: int = 0

    @classmethod
    def start(cls, plane: ControlPlane, name: str, env: Mapping[str, str]) -> ReceiverProcess:
        port = free_ports(1)[0]
        return cls(plane, name, port, env, stack.start_receiver(plane, port, name=name, env=env))

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def restart(self) -> None:
        """Start it again on the same port, once the previous process has ended."""
        self.restarts += 1
        self.process = stack.start_receiver(
            self.plane, self.port, name=f"{self.name}-restart-{self.restarts}", env=self.env
        )

    def stop(self) -> None:
        self.process.stop()


@dataclass
class KillReceiver:
    """``kill -9`` of one receiver mid-request, then a restart on the same port."""

    receiver: ReceiverProcess
    down_seconds: float = 1.0

    @property
    def name(self) -> str:
        return f"kill -9 {self.receiver.name}"

    def inject(self) -> None:
        kill_hard(self.receiver.process)
        time.sleep(self.down_seconds)
        self.receiver.restart()


def _apiserver_ready(plane: ControlPlane, started: ManagedProcess) -> None:
    probe = HttpsProbe(plane.ca_cert, plane.admin_cert, plane.admin_key)
    try:
        wait_for(
            lambda: probe.ok(f"{plane.server}/readyz"),
            what="the restarted kube-apiserver /readyz",
            timeout=RECOVERY_TIMEOUT,
            watched=[started],
        )
    finally:
        probe.close()


@dataclass
class RestartApiserver:
    """kube-apiserver killed (SIGKILL), down for ``down_seconds``, then started again."""

    plane: ControlPlane
    down_seconds: float = 25.0
    restarts: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        return f"kube-apiserver down {self.down_seconds:.0f}s"

    def inject(self) -> None:
        current = running_component(self.plane, "kube-apiserver")
        kill_hard(current)
        time.sleep(self.down_seconds)
        self.restarts += 1
        started = self.plane.spawn(f"kube-apiserver-restart-{self.restarts}", current.argv)
        _apiserver_ready(self.plane, started)


@dataclass
class FreezeEtcd:
    """etcd stopped with SIGSTOP for ``frozen_seconds``, then SIGCONT: alive but silent."""

    plane: ControlPlane
    frozen_seconds: float = 15.0

    @property
    def name(self) -> str:
        return f"etcd frozen {self.frozen_seconds:.0f}s"

    def inject(self) -> None:
        etcd = running_component(self.plane, "etcd")
        os.kill(etcd.pid, signal.SIGSTOP)
        try:
            time.sleep(self.frozen_seconds)
        finally:
            os.kill(etcd.pid, signal.SIGCONT)
        _apiserver_ready(self.plane, running_component(self.plane, "kube-apiserver"))
