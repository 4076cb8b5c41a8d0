"""The two servers under hostile input, each run as its own process with short HTTP limits.

They run on the session's control plane but apart from the suite's own servers: the webhook is
not registered with the apiserver (the probes call it directly), and each has a log of its own.
A request built here is valid in every other way, so that only a limit can make it fail: the
receiver answers 202, the webhook 200 with an allowed review.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli import stack
from controlplane import ControlPlane, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import HttpsProbe, wait_for
from tests.e2e.faults.rawhttp import Endpoint, Header, tls_client
from tests.seed import SEED_BODY, SEED_HEADERS
from tests.webhook.reviews import example, review

MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 100
HEADER_TIMEOUT_SECONDS = 2.0
READY_TIMEOUT = 90.0


def fixed_later(reason: str) -> pytest.MarkDecorator:
    """``xfail(strict=True)``: the server falls short for ``reason``; a fix that lands makes the
    test pass, strict makes that a failure, and the fix removes the mark.

    ``raises=AssertionError``: only the behaviour checked may fail; a broken probe still errors.
    """
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


def http_limits(prefix: str) -> dict[str, str]:
    """The head limits as the servers' settings read them (``<prefix><FIELD>``)."""
    return {
        f"{prefix}MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        f"{prefix}MAX_HEADERS": str(MAX_HEADERS),
        f"{prefix}HEADER_TIMEOUT": str(HEADER_TIMEOUT_SECONDS),
    }


@dataclass(frozen=True)
class Target:
    """A server process, where it listens, and a valid request for it."""

    name: str
    process: ManagedProcess
    endpoint: Endpoint
    path: str
    #: Answered to a valid request.
    ok_status: int

    @property
    def url(self) -> str:
        scheme = "https" if self.endpoint.tls else "http"
        return f"{scheme}://{LOOPBACK}:{self.endpoint.port}"

    def headers(self) -> list[Header]:
        """The headers of a valid request (a fresh event id for the receiver each time)."""
        if self.endpoint.tls is None:
            return [
                ("host", LOOPBACK),
                *((k, v) for k, v in SEED_HEADERS.items() if k != "ce-id"),
                ("ce-id", uuid.uuid4().hex),
            ]
        return [("host", LOOPBACK), ("content-type", "application/json")]

    def body(self) -> bytes:
        if self.endpoint.tls is None:
            return SEED_BODY
        return json.dumps(review(example("job-sink-logger"))).encode()

    def log_size(self) -> int:
        return self.process.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.process.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def start_receiver_target(plane: ControlPlane, namespace: str, sink: str) -> Target:
    port = free_ports(1)[0]
    process = stack.start_receiver(
        plane, port, name="receiver-hostile", env=http_limits("JOBSINK_RECEIVER_")
    )
    return Target("receiver", process, Endpoint(port), f"/{namespace}/{sink}", 202)


def start_webhook_target(plane: ControlPlane, tls_dir: Path) -> Target:
    tls_dir.mkdir(parents=True, exist_ok=True)
    serving = plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls_dir / "tls.crt").write_bytes(serving.cert_pem)
    (tls_dir / "tls.key").write_bytes(serving.key_pem)
    port = free_ports(1)[0]
    process = plane.spawn(
        "webhook-hostile",
        [
            stack.jobsink_executable(),
            "webhook",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--tls-cert={tls_dir / 'tls.crt'}",
            f"--tls-key={tls_dir / 'tls.key'}",
            f"--kubeconfig={plane.kubeconfig}",
        ],
        # No dry-run: the probes are about HTTP, not about the apiserver's answer.
        env={**http_limits("JOBSINK_WEBHOOK_"), "JOBSINK_WEBHOOK_DRY_RUN": "false"},
    )
    probe = HttpsProbe(plane.ca_cert)
    try:
        wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{port}/readyz"),
            what="jobsink webhook (hostile) /readyz",
            timeout=READY_TIMEOUT,
            watched=[process],
        )
    finally:
        probe.close()
    return Target(
        "webhook", process, Endpoint(port, tls_client(str(plane.ca_cert))), "/validation", 200
    )
