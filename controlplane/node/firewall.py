"""The node's own packet-filter rules, kube-proxy's clean-up, and the lock that makes both safe.

kube-proxy's chains have fixed names (``KUBE-SERVICES``, ...) and the Service range is the
same for every run, so only one run on a machine may route Services at a time: it holds
:class:`ServiceNetworkLock` (an ``flock``, released by the kernel when its holder dies) from
before its first rule until after its last is gone. A run that finds it taken runs without
Services and says so; a later clean-up of a killed run removes kube-proxy's rules only when
it can take the lock, so it never strips the rules of a live run.

Besides kube-proxy's rules, a run adds only chains named after itself (``JSK-<run>-...``):
- mangle FORWARD: nothing is forwarded from the run's bridge to any other interface, or from
  any other interface onto it (a Service whose endpoint lies outside cannot lead off the
  machine, and no outside host can reach a Pod);
- filter OUTPUT: the host's packets to the Service range that no Service rewrote are refused
  rather than sent along the default route, and no ICMP redirect is sent onto the bridge;
- filter INPUT, IPv4 and IPv6: the apiserver's port answers on loopback and on the run's
  bridge only (the apiserver listens on every address once Pods must reach it).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from controlplane.errors import ControlPlaneError

LOCK_PATH = Path("/run/jobsink-service-network.lock")
CHAIN_PREFIX = "JSK-"
KUBE_PROXY_PREFIX = "KUBE-"
BUILTIN_CHAINS = frozenset({"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"})
FAMILIES = ("iptables", "ip6tables")


@dataclass(frozen=True)
class Guard:
    """What the run's own rules need to know."""

    run_id: str
    bridge: str
    service_range: ipaddress.IPv4Network
    apiserver_port: int

    @property
    def prefix(self) -> str:
        return chain_prefix(self.run_id)


def chain_prefix(run_id: str) -> str:
    """``JSK-<run>-``: every chain of the run starts so (iptables allows 28 characters)."""
    return f"{CHAIN_PREFIX}{run_id[:8]}-"


def guard_rules(guard: Guard) -> dict[str, str]:
    """``iptables-restore --noflush`` input per family (pure)."""
    forward, output, inbound = (f"{guard.prefix}{name}" for name in ("FWD", "OUT", "IN"))
    port = f"-p tcp --dport {guard.apiserver_port}"
    ipv4 = "\n".join(
        [
            "*mangle",
            f":{forward} - [0:0]",
            f"-A {forward} -i {guard.bridge} -o {guard.bridge} -j RETURN",
            f"-A {forward} -i {guard.bridge} -j DROP",
            f"-A {forward} -o {guard.bridge} -j DROP",
            f"-I FORWARD 1 -j {forward}",
            "COMMIT",
            "*filter",
            f":{output} - [0:0]",
            f":{inbound} - [0:0]",
            f"-A {output} -d {guard.service_range} -j REJECT",
            # A Pod reaching a Service on a Pod of the same bridge is routed back onto it;
            # a redirect would send its next packets straight to a Pod that does not hold
            # the Service's address.
            f"-A {output} -o {guard.bridge} -p icmp --icmp-type redirect -j DROP",
            f"-A {inbound} -i lo -j RETURN",
            f"-A {inbound} -i {guard.bridge} -j RETURN",
            f"-A {inbound} -j DROP",
            f"-I OUTPUT 1 -j {output}",
            f"-I INPUT 1 {port} -j {inbound}",
            "COMMIT",
            "",
        ]
    )
    ipv6 = "\n".join(
        [
            "*filter",
            f":{inbound} - [0:0]",
            f"-A {inbound} -i lo -j RETURN",
            f"-A {inbound} -j DROP",
            f"-I INPUT 1 {port} -j {inbound}",
            "COMMIT",
            "",
        ]
    )
    return {"iptables": ipv4, "ip6tables": ipv6}


def removal_commands(save_output: str, prefix: str) -> list[list[str]]:
    """``-t TABLE -D ...`` for every rule that jumps to a chain named ``prefix*``, then
    ``-F`` and ``-X`` for those chains, from ``iptables-save`` text (pure)."""
    deletions: list[list[str]] = []
    chains: list[tuple[str, str]] = []
    table = ""
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(f":{prefix}"):
            chains.append((table, line[1:].split()[0]))
        elif line.startswith("-A "):
            words = shlex.split(line)
            chain = words[1]
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if target.startswith(prefix) and not chain.startswith(prefix):
                deletions.append(["-t", table, "-D", *words[1:]])
    flushes = [["-t", table, "-F", chain] for table, chain in chains]
    removals = [["-t", table, "-X", chain] for table, chain in chains]
    return deletions + flushes + removals


def rule_lines(save_output: str) -> list[str]:
    """The rules and user chains of ``iptables-save`` text, each with its table (pure).

    Comments, counters and the built-in chains' declarations are left out: the nf_tables
    backend keeps a table (with its empty built-in chains) once anything has used it, which
    is no rule of anyone's.
    """
    kept: list[str] = []
    table = ""
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            if name not in BUILTIN_CHAINS or policy != "ACCEPT":
                kept.append(f"{table} :{name} {policy}")
        elif line.startswith("-"):
            kept.append(f"{table} {line}")
    return kept


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, check=False, timeout=60
    )


def save(family: str) -> str:
    return _run([f"{family}-save"]).stdout


def install_guard(guard: Guard) -> None:
    for family, rules in guard_rules(guard).items():
        result = _run([f"{family}-restore", "--noflush"], rules)
        if result.returncode != 0:
            raise ControlPlaneError(
                f"{family}-restore refused the node's rules: {result.stderr.strip()}"
            )


def remove_chains(prefix: str) -> list[str]:
    """Delete every chain named ``prefix*`` and the jumps to it; returns what was left."""
    left: list[str] = []
    for family in FAMILIES:
        for command in removal_commands(save(family), prefix):
            result = _run([family, *command])
            if result.returncode != 0:
                left.append(f"{family} {' '.join(command)}: {result.stderr.strip()}")
    return left


def kube_proxy_cleanup(kube_proxy: Path) -> str | None:
    """kube-proxy's own clean-up (every KUBE-* chain and rule); the error, or None."""
    result = _run([str(kube_proxy), "--cleanup"])
    if result.returncode != 0:
        return f"kube-proxy --cleanup exited {result.returncode}: {result.stderr.strip()[-400:]}"
    return None


class ServiceNetworkLock:
    """The machine-wide right to route Services (see the module's docstring)."""

    def __init__(self, path: Path = LOCK_PATH) -> None:
        self._path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self, holder: str) -> str | None:
        """Take the lock without waiting; None when taken, else who holds it."""
        if self._file is not None:
            return None
        handle = self._path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another run"
            handle.close()
            return owner
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} (pid {os.getpid()})")
        handle.flush()
        self._file = handle
        return None

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            handle.close()
