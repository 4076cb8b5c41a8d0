"""Leader election on a coordination.k8s.io/v1 Lease, so that one receiver writes JobSink status.

The rules are client-go's: the holder renews every ``renew_every`` seconds; a candidate takes the
Lease only when it has seen no change to it for ``duration`` seconds, measured on its own monotonic
clock (so clock skew between nodes does not matter), or when the holder released it. Every write
carries the resourceVersion that was read, so two candidates can never both win. A holder that
cannot renew for ``renew_deadline`` seconds stops calling itself leader before anyone else may take
over, and ``stop()`` hands the Lease back so a successor does not wait for expiry.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubeapi.daemon import Daemon
from kubeapi.errors import Conflict
from kubeapi.leases import Leases
from kubeapi.messages import one_line
from receiver.metrics import Metrics

log = logging.getLogger(__name__)


def default_identity() -> str:
    """hostname + pid: unique per process, and readable in ``kubectl get lease -o yaml``."""
    return f"{socket.gethostname()}_{os.getpid()}"


def micro_time(moment: float) -> str:
    """A Kubernetes ``MicroTime`` for a POSIX timestamp."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for one Lease on a daemon thread; ``is_leader`` says whether to act now."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        identity: str | None = None,
        *,
        duration: float = 15.0,
        renew_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        if not 0 < renew_every < duration:
            raise ValueError("renew_every must be positive and shorter than the lease duration")
        self._leases = leases
        self.name = name
        self.identity = identity or default_identity()
        self._duration = duration
        self._renew_every = renew_every
        self._clock = clock
        self._leader_gauge = (metrics or Metrics()).status_leader
        # Between the last renewal attempt and expiry, keeping a margin for one more attempt.
        self._renew_deadline = duration - renew_every / 2
        self._listeners: list[Callable[[bool], None]] = []
        self._daemon = Daemon("jobsink-lease", self._run)
        self._stopping = self._daemon.stopping
        self._lease: dict[str, Any] | None = None
        self._renewed_at = float("-inf")
        self._leading = False
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(is_leader)`` on the election thread whenever leadership changes."""
        self._listeners.append(listener)

    @property
    def is_leader(self) -> bool:
        return self._leading and self._clock() < self._renewed_at + self._renew_deadline

    def start(self) -> None:
        self._daemon.start()

    def stop(self, timeout: float = 5.0, *, release: bool = True) -> None:
        """Stop campaigning and, if leading, release the Lease for an immediate successor
        (``release=False`` leaves it to expire, as a crash would)."""
        self._daemon.stop(timeout)
        if self._leading:
            if release:
                self._release()
            self._set_leading(False)

    def _run(self) -> None:
        last_error = ""
        while not self._stopping.is_set():
            try:
                held = self.try_acquire_or_renew()
                last_error = ""
            except Exception as error:
                # Once per distinct failure: a missing namespace or RBAC rule repeats every round.
                if str(error) != last_error:
                    last_error = str(error)
                    log.warning("Lease %s: acquire/renew failed: %s", self.name, one_line(error))
                held = self.is_leader
            self._set_leading(held)
            self._stopping.wait(self._renew_every if held else self._renew_every / 2)

    def try_acquire_or_renew(self) -> bool:
        """One round of the election; True when this process holds the Lease afterwards."""
        now = time.time()
        lease = self._leases.get(self.name)
        if lease is None:
            return self._write(None, self._spec(now, acquired=now, transitions=0))
        spec: dict[str, Any] = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        self._observe(lease)
        if holder == self.identity:
            renewed = {**spec, "renewTime": micro_time(now)}
            renewed["leaseDurationSeconds"] = int(self._duration)
            return self._write(lease, renewed)
        # The holder's own lease duration counts, as in client-go, not this candidate's setting.
        duration = float(spec.get("leaseDurationSeconds") or self._duration)
        if holder and self._clock() < self._observed_at + duration:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + 1
        log.info("Lease %s: taking over from %r", self.name, holder or "nobody")
        return self._write(lease, self._spec(now, acquired=now, transitions=transitions))

    def _spec(self, now: float, *, acquired: float, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self._duration),
            "acquireTime": micro_time(acquired),
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }

    def _observe(self, lease: dict[str, Any]) -> None:
        """Note when this Lease last changed, on the local monotonic clock."""
        spec = lease.get("spec") or {}
        record = (str(spec.get("holderIdentity") or ""), str(spec.get("renewTime") or ""))
        if record != self._observed:
            self._observed = record
            self._observed_at = self._clock()

    def _write(self, lease: dict[str, Any] | None, spec: dict[str, Any]) -> bool:
        started = self._clock()
        try:
            if lease is None:
                self._lease = self._leases.create(self.name, spec)
            else:
                self._lease = self._leases.replace(lease, spec)
        except Conflict:  # another candidate wrote first (AlreadyExists is a Conflict too)
            return False
        self._renewed_at = started
        return True

    def _release(self) -> None:
        lease = self._lease
        if lease is None:
            return
        spec = {
            **(lease.get("spec") or {}),
            "holderIdentity": None,
            "leaseDurationSeconds": 1,
            "renewTime": micro_time(time.time()),
        }
        try:
            self._leases.replace(lease, spec)
            log.info("Lease %s: released", self.name)
        except Exception:
            log.warning("Lease %s: release failed; it expires on its own", self.name, exc_info=True)

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        self._leader_gauge.set(1 if leading else 0)
        log.info("Lease %s: %s", self.name, "now leading" if leading else "no longer leading")
        for listener in self._listeners:
            try:
                listener(leading)
            except Exception:
                log.exception("Lease %s: leadership listener failed", self.name)
