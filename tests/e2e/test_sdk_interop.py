"""The CloudEvents SDK as the sender, the real receiver and apiserver, the SDK as the reader.

What this proves: a client we did not write is understood exactly. For every event of the table,
in binary and in structured content mode, over plain HTTP and over TLS, the request that the
CloudEvents Python SDK 2.x builds (``to_binary``/``to_structured``) is accepted by ``jobsink
receiver`` (202), and the event file it stored (the ``event`` key of the Secret it created, read
through the apiserver), read back with the SDK's JSON reader, is the event the SDK sent: every
attribute with its value and type, including the ``id``, ``time`` and ``specversion`` the SDK
filled in itself, the extensions, and the data in its kind (JSON, text or bytes). Nothing is
added, dropped or reformatted on the way.

The table covers JSON, text and binary data, ``datacontenttype`` variants (parameters, ``+json``
suffixes, textual types, none at all), extensions of every type, ``subject``, ``dataschema``,
``time`` with microseconds and a UTC offset, and unicode in required attributes. How the SDK's
own habits are accounted for is written in ``tests/interop/sdk.py``.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from kubernetes import client

from cli.stack import jobsink_executable
from controlplane import ControlPlane, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import http_ok, wait_for
from tests.e2e.services import SERVICE_TIMEOUT, RunningReceiver, create_namespace, delete_namespace
from tests.e2e.support import EXAMPLES, unique_name
from tests.interop.sdk import MODES, Mode, encode, read, sent

SINK = "job-sink-logger"
SOURCE = "/interop/sdk"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"
"""Bytes that are neither UTF-8 nor JSON."""


@dataclass(frozen=True)
class Case:
    attributes: dict[str, Any] = field(default_factory=dict)
    """Besides ``source`` and ``type``; without an ``id`` or a ``time`` the SDK makes them up."""
    data: dict[str, Any] | str | bytes | None = None


CASES = [
    pytest.param(
        Case(
            {"datacontenttype": "application/json"},
            {"name": "Zoë", "list": [1, 2.5, True, None], "empty": {}},
        ),
        id="json",
    ),
    pytest.param(Case({}, {"no": "datacontenttype"}), id="json-no-datacontenttype"),
    pytest.param(
        Case({"datacontenttype": "application/vnd.example+json; charset=utf-8"}, {"k": "ü"}),
        id="json-suffix-and-parameter",
    ),
    pytest.param(Case({"datacontenttype": "text/json"}, {"k": 1}), id="text-json"),
    pytest.param(
        Case({"datacontenttype": "text/plain; charset=utf-8"}, 'Grüße\nzweite Zeile ✓ "q"'),
        id="text",
    ),
    pytest.param(Case({"datacontenttype": "application/xml"}, "<a>ü</a>"), id="text-xml"),
    pytest.param(
        Case({"datacontenttype": "application/octet-stream"}, PNG_HEAD), id="bytes-octet-stream"
    ),
    pytest.param(Case({"datacontenttype": "image/png"}, PNG_HEAD), id="bytes-png"),
    pytest.param(Case({}, b"\x00\x01\xfe"), id="bytes-no-datacontenttype"),
    pytest.param(Case(), id="no-data"),
    pytest.param(
        Case(
            {"text": 'a b%c"d ü', "count": 42, "negative": -7, "yes": True, "no": False},
            {"k": "v"},
        ),
        id="extensions",
    ),
    pytest.param(
        Case(
            {
                "subject": "Bestellung/42 ü",
                "dataschema": "https://example.com/schemas/order.json",
                "time": datetime(2024, 2, 29, 23, 59, 59, 123456, timezone(timedelta(hours=5.5))),
            }
        ),
        id="subject-dataschema-time-offset",
    ),
    pytest.param(Case({"time": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}), id="time-utc"),
    pytest.param(
        Case({"id": "ü 😀 %", "source": 'https://example.com/a b?q="x"', "type": "tÿpe.€"}),
        id="unicode-required",
    ),
]


@dataclass(frozen=True)
class Target:
    """Where a JobSink's events go: a receiver's base URL and a client that trusts it."""

    url: str
    http: httpx.Client


@pytest.fixture(scope="module")
def tls_receiver(control_plane: ControlPlane) -> Iterator[Target]:
    """``jobsink receiver`` serving HTTPS with a certificate of the control plane's CA.

    Strict: its plain-HTTP port only answers the readiness probe. It writes no JobSink status: the
    session's receiver does, and a second writer would race it for the lease.
    """
    tls_dir = control_plane.workdir / "receiver-tls"
    tls_dir.mkdir(exist_ok=True)
    serving = control_plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls_dir / "tls.crt").write_bytes(serving.cert_pem)
    (tls_dir / "tls.key").write_bytes(serving.key_pem)
    https_port, http_port = free_ports(2)
    process: ManagedProcess = control_plane.spawn(
        "receiver-tls",
        [
            jobsink_executable(),
            "receiver",
            f"--host={LOOPBACK}",
            f"--port={http_port}",
            "--transport-encryption=strict",
            f"--https-port={https_port}",
            f"--tls-cert={tls_dir / 'tls.crt'}",
            f"--tls-key={tls_dir / 'tls.key'}",
            f"--kubeconfig={control_plane.kubeconfig}",
            "--no-status",
        ],
    )
    context = ssl.create_default_context(cafile=str(control_plane.ca_cert))
    try:
        wait_for(
            lambda: http_ok(f"http://{LOOPBACK}:{http_port}/readyz"),
            what="jobsink receiver (TLS) /readyz",
            timeout=SERVICE_TIMEOUT,
            watched=[process],
        )
        with httpx.Client(verify=context, trust_env=False, timeout=30) as http:
            yield Target(f"https://{LOOPBACK}:{https_port}", http)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def plain_receiver(receiver: RunningReceiver) -> Iterator[Target]:
    with httpx.Client(trust_env=False, timeout=30) as http:
        yield Target(receiver.url, http)


@pytest.fixture(scope="module")
def sink_namespace(
    control_plane: ControlPlane, api_client: client.ApiClient, jobsink_crd: list[str]
) -> Iterator[str]:
    """One namespace with the documentation's logger JobSink for the whole table."""
    name = unique_name("e2e-sdk-interop")
    create_namespace(api_client, name)
    control_plane.kubectl("apply", "-n", name, "-f", str(EXAMPLES / f"{SINK}.yaml"))
    yield name
    delete_namespace(api_client, name)


def stored_event(api_client: client.ApiClient, namespace: str, name: str) -> bytes:
    secret = client.CoreV1Api(api_client).read_namespaced_secret(name, namespace)
    return base64.b64decode(secret.data["event"])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", ["http", "https"])
def test_sdk_event_is_stored_as_sent(
    case: Case,
    mode: Mode,
    transport: str,
    sink_namespace: str,
    api_client: client.ApiClient,
    request: pytest.FixtureRequest,
) -> None:
    target: Target = request.getfixturevalue(
        "tls_receiver" if transport == "https" else "plain_receiver"
    )
    attributes = {"source": SOURCE, "type": "dev.interop.sdk", **case.attributes}
    if "id" in attributes:
        # One event per test: the same (source, id) twice would be a duplicate delivery.
        attributes["id"] = f"{attributes['id']}/{mode}/{transport}"
    event = SdkEvent(attributes, case.data)
    message = encode(event, mode)

    response = target.http.post(
        f"{target.url}/{sink_namespace}/{SINK}",
        content=message.body,
        headers={**message.headers, "accept": "application/json"},
    )

    assert response.status_code == httpx.codes.ACCEPTED, response.text
    assert response.json()["outcome"] == "created"
    file = stored_event(api_client, sink_namespace, response.json()["job"])
    assert read(file) == sent(event, mode)
