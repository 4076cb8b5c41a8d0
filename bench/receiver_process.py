"""Processes the receiver benchmarks start and read: ``jobsink receiver`` on a free port, the CPU
and memory of any pid from /proc, and the pid that serves a loopback port (the apiserver)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from controlplane.ports import free_ports


def start_receiver(
    kubeconfig: str, max_inflight: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jobsink"), "receiver", "--host=127.0.0.1",
         f"--port={port}", f"--kubeconfig={kubeconfig}", f"--max-inflight={max_inflight}",
         "--no-status", "--log-level=warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        time.sleep(0.1)
    process.kill()
    raise SystemExit("receiver did not become ready")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (the kernel's peak) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


class RssSampler:
    """Samples the RSS of the pids it watches every ``interval`` seconds in a thread and keeps
    each one's peak; ``peak`` also counts the kernel's VmHWM, which catches a spike between two
    samples (read it while the process still runs)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._pids: dict[str, int] = {}
        self._peaks: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._pids[name] = pid
            self._peaks[name] = 0.0
        self._sample()

    def peak(self, name: str) -> float:
        """The largest RSS seen, in MB; stops watching ``name``."""
        self._sample()
        with self._lock:
            pid = self._pids.pop(name)
            peak = self._peaks[name]
        with contextlib.suppress(OSError):
            peak = max(peak, memory(pid).get("VmHWM", 0.0))
        return peak

    def _sample(self) -> None:
        with self._lock:
            for name, pid in self._pids.items():
                with contextlib.suppress(OSError):
                    rss = memory(pid).get("VmRSS", 0.0)
                    self._peaks[name] = max(self._peaks[name], rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


def listening_sockets(table: str) -> set[tuple[str, int, int]]:
    """(local address in /proc's hex, port, socket inode) of every listening socket in the
    text of /proc/net/tcp or tcp6 (state 0A is LISTEN)."""
    found = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == "0A":
            address, _, port = fields[1].partition(":")
            found.add((address, int(port, 16), int(fields[9])))
    return found


def pid_listening_on(port: int) -> int | None:
    """The pid of the process listening on ``port`` (any local address), or None if there is
    none or it cannot be told (another user's process)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            text = Path(table).read_text()
            inodes |= {inode for _, bound, inode in listening_sockets(text) if bound == port}
    wanted = {f"socket:[{inode}]" for inode in inodes if inode}
    if not wanted:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(entry.name)
    return None


def apiserver_pid(kubeconfig: str) -> int | None:
    """The kube-apiserver's pid when the kubeconfig's server is on this machine's loopback."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    cluster_name = contexts.get(config.get("current-context"), {}).get("cluster")
    clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
    server = urlsplit((clusters.get(cluster_name) or {}).get("server", ""))
    if server.hostname not in ("127.0.0.1", "localhost", "::1") or server.port is None:
        return None
    return pid_listening_on(server.port)
