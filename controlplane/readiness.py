"""Waiting for components to become ready, failing fast when one of them exits."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from controlplane.errors import ControlPlaneError
from controlplane.processes import ManagedProcess

POLL_INTERVAL = 0.2
_PORT_IN_USE = "address already in use"


class ComponentExited(ControlPlaneError):
    """A component ended while we were waiting for it; the message carries its log tail."""

    def __init__(self, process: ManagedProcess) -> None:
        self.process = process
        self.log = process.log_tail(30)
        super().__init__(
            f"{process.name} exited with code {process.returncode} during start-up "
            f"(log: {process.log_path}):\n{self.log}"
        )

    @property
    def port_conflict(self) -> bool:
        """The port it was given was taken between our check and its bind."""
        return _PORT_IN_USE in self.log


def wait_for(
    condition: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    watched: Sequence[ManagedProcess] = (),
) -> float:
    """Poll ``condition`` until true; returns the seconds waited.

    Raises ``ComponentExited`` as soon as a ``watched`` process ends, rather than waiting out
    the whole timeout for something that can no longer happen.
    """
    started = time.monotonic()
    while True:
        for process in watched:
            if not process.running:
                raise ComponentExited(process)
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise ControlPlaneError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


class HttpsProbe:
    """GETs against a loopback HTTPS server with our CA and, optionally, a client certificate."""

    def __init__(
        self, ca_cert: Path, client_cert: Path | None = None, client_key: Path | None = None
    ):
        context = ssl.create_default_context(cafile=str(ca_cert))
        if client_cert is not None:
            context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        self._client = httpx.Client(verify=context, timeout=5.0, trust_env=False)

    def ok(self, url: str) -> bool:
        try:
            return self._client.get(url).status_code == httpx.codes.OK
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._client.close()


def http_ok(url: str) -> bool:
    """A plain-HTTP GET (etcd's client port) answered 200."""
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False
