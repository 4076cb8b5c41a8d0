"""One run's hold on the machine's Service network: the lock, the bridge with its gateway and
the run's own packet-filter chains (see ``firewall`` for why only one run may hold it)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import time
from collections.abc import Callable, Mapping

from controlplane.errors import ControlPlaneError
from controlplane.node import firewall, host
from controlplane.node.addresses import SERVICE_RANGE, gateway, gateway_interface
from controlplane.node.teardown import NodeRecord

Progress = Callable[[str], None]
#: ``0`` turns Services off for a node (``1`` insists); unset, a node routes them when it can.
SERVICES_ENV = "JOBSINK_NODE_SERVICES"
#: Seconds a run that insists on Services waits for another run to release them (default 0).
WAIT_ENV = "JOBSINK_NODE_SERVICES_WAIT"
TOOLS = ("iptables", "iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore")


def services_wanted(requested: bool | None, environment: Mapping[str, str]) -> bool | None:
    """``requested`` if given, else what :data:`SERVICES_ENV` says (None when unset)."""
    if requested is not None:
        return requested
    value = environment.get(SERVICES_ENV, "").strip()
    if value in ("", "auto"):
        return None
    if value in ("0", "1"):
        return value == "1"
    raise ControlPlaneError(f"{SERVICES_ENV}={value!r}: use 0 (no Services), 1 (insist) or unset")


def wait_seconds(environment: Mapping[str, str]) -> float:
    """What :data:`WAIT_ENV` says, in seconds (0 when unset)."""
    value = environment.get(WAIT_ENV, "").strip() or "0"
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ControlPlaneError(f"{WAIT_ENV}={value!r}: use a number of seconds (0 or more)")
    return seconds


class ServiceNetwork:
    """``wanted``: True insists, None takes it whenever it is free, False never does."""

    def __init__(
        self,
        run_id: str,
        record: NodeRecord,
        pod_range: ipaddress.IPv4Network,
        wanted: bool | None,
    ) -> None:
        self.run_id = run_id
        self.record = record
        self.pod_range = pod_range
        self.wanted = wanted
        self.lock = firewall.ServiceNetworkLock()

    @property
    def held(self) -> bool:
        return self.lock.held

    @property
    def pod_address(self) -> str | None:
        """Where Pods reach the apiserver: the gateway, while this run routes Services."""
        return str(gateway(self.pod_range)) if self.held else None

    def open(self, holder: str, say: Progress) -> None:
        """Take the lock if wanted and free, and create the bridge with its gateway; without
        it the bridge is left to the CNI plugin (no address on the host), as before."""
        if self.wanted is False:
            return
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        owner = None if missing else self._acquire(holder, say)
        if not missing and owner is None:
            self.record.chain_prefix = firewall.chain_prefix(self.run_id)
            host.create_bridge(self.record.bridge, str(gateway_interface(self.pod_range)))
            return
        reason = (
            f"{', '.join(missing)} not installed (Debian: apt-get install iptables)"
            if missing
            else f"Services are routed on this machine by {owner}; kube-proxy's rules are "
            "machine-wide, so only one run may route them at a time"
        )
        if self.wanted:
            raise ControlPlaneError(f"cannot route Services: {reason}")
        say(f"no Services and no cluster DNS on this node: {reason}")

    def _acquire(self, holder: str, say: Progress) -> str | None:
        """The lock, waiting up to :data:`WAIT_ENV` seconds when Services are insisted on; None
        when taken, else who holds it."""
        owner = self.lock.try_acquire(holder)
        if owner is None or not self.wanted:
            return owner
        deadline = time.monotonic() + wait_seconds(os.environ)
        if time.monotonic() < deadline:
            say(f"waiting for the Service network, held by {owner}")
        while owner is not None and time.monotonic() < deadline:
            time.sleep(1)
            owner = self.lock.try_acquire(holder)
        return owner

    def fence(self, apiserver_port: int) -> None:
        """The run's own rules; again (replaced) after a start-up retry with other ports."""
        if not self.held or self.record.chain_prefix is None:
            return
        firewall.remove_chains(self.record.chain_prefix)
        firewall.install_guard(
            firewall.Guard(self.run_id, self.record.bridge, SERVICE_RANGE, apiserver_port)
        )
