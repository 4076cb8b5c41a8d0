"""Transport encryption on the real apiserver: real ``jobsink receiver`` processes in strict and
permissive mode, the addresses ``kubectl get -o yaml`` shows, events over HTTPS verified with
the published ``CACerts`` turning into Jobs, and self-managed certificates rotating under a
steady load without losing a request.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from kubernetes import client

from certs.authority import CertificateAuthority
from certs.rotation import Material, renewed
from controlplane import ControlPlane
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import wait_for
from kubeapi.secrets import SecretStore
from receiver.certificates import service_dns_names
from receiver.settings import StatusSettings
from tests.e2e import own_plane, services
from tests.e2e.support import EXAMPLES
from tests.receiver.test_transport import served_serial
from tests.seed import SEED_BODY, SEED_HEADERS

pytestmark = pytest.mark.usefixtures("jobsink_crd")

# Its own plane: the session's cluster-wide receiver would publish plain-HTTP addresses over the
# ones tested here.
control_plane = own_plane.fixture(own_plane.control_plane)
api_client = own_plane.fixture(own_plane.api_client)
jobsink_crd = own_plane.fixture(own_plane.jobsink_crd)

TIMEOUT = 30.0
SINK = "job-sink-logger"
SECRET = "job-sink-certs"


@dataclass
class Secured:
    """A receiver process of one namespace: its listeners and where its JobSink is."""

    plane: ControlPlane
    api_client: client.ApiClient
    namespace: str
    http: str
    https: str

    def status(self) -> dict[str, Any]:
        """``.status`` as ``kubectl get jobsink -o yaml`` shows it."""
        text = self.plane.kubectl("get", "jobsink", SINK, "-n", self.namespace, "-o", "yaml")
        status: dict[str, Any] = yaml.safe_load(text.stdout).get("status") or {}
        return status

    def verify(self) -> ssl.SSLContext:
        """What a sender trusts: the CACerts of the JobSink's https address."""
        (https,) = [a for a in self.status()["addresses"] if a["name"] == "https"]
        return ssl.create_default_context(cadata=https["CACerts"])

    def jobs(self) -> int:
        return len(client.BatchV1Api(self.api_client).list_namespaced_job(self.namespace).items)

    def serves(self, serial: int, verify: ssl.SSLContext) -> bool:
        """Whether a new connection is shown the certificate with ``serial``."""
        return served_serial(self.https, verify) == serial


@pytest.fixture
def secured(
    control_plane: ControlPlane,
    api_client: client.ApiClient,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Secured]]:
    """Start a receiver serving ``namespace`` only, its Lease and certificate Secret there too."""
    started: list[services.RunningReceiver] = []

    def start(mode: str, **tls: str) -> Secured:
        (https_port,) = free_ports(1)
        https = f"https://{LOOPBACK}:{https_port}"
        for variable, value in {
            "NAMESPACE": namespace,
            "SYSTEM_NAMESPACE": namespace,
            "TRANSPORT_ENCRYPTION": mode,
            "HTTPS_PORT": str(https_port),
            "PUBLIC_HTTPS_URL": https,
            "TLS_IPS": f'["{LOOPBACK}"]',
            **{f"TLS_{name.upper()}": value for name, value in tls.items()},
        }.items():
            monkeypatch.setenv(f"JOBSINK_RECEIVER_{variable}", value)
        receiver = services.start_receiver(control_plane, f"receiver-{mode}-{namespace}")
        started.append(receiver)
        control_plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / f"{SINK}.yaml"))
        running = Secured(control_plane, api_client, namespace, receiver.url, https)
        wait_for(lambda: "addresses" in running.status(), what="addresses", timeout=TIMEOUT)
        return running

    yield start
    for receiver in started:
        receiver.stop()


def headers(number: int) -> dict[str, str]:
    return {**SEED_HEADERS, "ce-id": f"tls-{number}"}


def post(url: str, number: int, verify: ssl.SSLContext | bool = True) -> httpx.Response:
    return httpx.post(url, headers=headers(number), content=SEED_BODY, timeout=10, verify=verify)


def secret_material(api_client: client.ApiClient, namespace: str) -> Material:
    stored = SecretStore(api_client, namespace, SECRET).get()
    assert stored is not None
    return Material.from_data(stored.data)


def test_strict_self_managed_publishes_https_and_refuses_plain_http(
    secured: Callable[..., Secured], api_client: client.ApiClient, namespace: str
) -> None:
    running = secured("strict")
    material = secret_material(api_client, namespace)
    url = f"{running.https}/{namespace}/{SINK}"
    status = running.status()
    assert status["address"] == {"name": "https", "url": url, "CACerts": material.bundle.decode()}
    assert status["addresses"] == [status["address"]]
    assert x509.load_pem_x509_certificate(material.serving.cert_pem).subject.rfc4514_string() == (
        "CN=job-sink"
    )

    refused = post(f"{running.http}/{namespace}/{SINK}", 1)
    assert refused.status_code == 404
    assert refused.json()["url"] == url
    assert running.jobs() == 0

    accepted = post(url, 2, verify=running.verify())
    assert accepted.status_code == 202
    assert running.jobs() == 1
    # A sender that does not trust the published CA cannot be fooled into talking to us either.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        post(url, 3, verify=ssl.create_default_context())


def test_permissive_with_certificate_files_serves_both_and_publishes_their_ca(
    secured: Callable[..., Secured], control_plane: ControlPlane, namespace: str
) -> None:
    authority = CertificateAuthority.create("cert-manager-like")
    files = control_plane.workdir / f"tls-{namespace}"
    files.mkdir()
    serving = authority.issue_server(ips=[LOOPBACK])
    for name, data in (("tls.crt", serving.cert_pem), ("tls.key", serving.key_pem),
                       ("ca.crt", authority.cert_pem)):  # fmt: skip
        (files / name).write_bytes(data)
    running = secured("permissive", cert=str(files / "tls.crt"), key=str(files / "tls.key"),
                      ca=str(files / "ca.crt"))  # fmt: skip
    status = running.status()
    http_url = f"{running.http}/{namespace}/{SINK}"
    https_url = f"{running.https}/{namespace}/{SINK}"
    assert status["address"] == {"name": "http", "url": http_url}
    assert status["addresses"] == [
        {"name": "https", "url": https_url, "CACerts": authority.cert_pem.decode()},
        {"name": "http", "url": http_url},
    ]
    assert post(https_url, 1, verify=running.verify()).status_code == 202
    assert post(http_url, 2).status_code == 202
    assert running.jobs() == 2


def test_rotation_under_steady_load_loses_no_event(
    secured: Callable[..., Secured], api_client: client.ApiClient, namespace: str
) -> None:
    """20 s at 10 events/s over HTTPS while the serving certificate is renewed three times in the
    Secret (as another replica renewing it would) and then the CA: every event sent is answered
    202 and has its Job; new connections see each new certificate; during the CA's rotation the
    published CACerts hold both CAs."""
    rate, seconds = 10, 20.0
    running = secured("strict", resync_seconds="1")
    url = f"{running.https}/{namespace}/{SINK}"
    verify = running.verify()
    store = SecretStore(api_client, namespace, SECRET)
    names = service_dns_names(StatusSettings(system_namespace=namespace))
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def send() -> None:
        number = 0
        with httpx.Client(verify=verify, timeout=10) as kept_alive:
            started = time.monotonic()
            while not stop.is_set():
                number += 1
                try:
                    # Alternate a kept-alive connection and fresh ones, whose handshakes meet
                    # whichever certificate is installed at that moment.
                    if number % 2:
                        answer = kept_alive.post(url, headers=headers(number), content=SEED_BODY)
                    else:
                        answer = post(url, number, verify=verify)
                    statuses.append(answer.status_code)
                except httpx.HTTPError as error:
                    errors.append(repr(error))
                time.sleep(max(0.0, started + number / rate - time.monotonic()))

    sender = threading.Thread(target=send)
    sender.start()
    serials = {served_serial(running.https, verify)}
    try:
        for _ in range(3):
            time.sleep(seconds / 4)
            stored = store.get()
            assert stored is not None
            current = Material.from_data(stored.data)
            # Renewal due: the same CA issues a new serving certificate.
            later = current.serving.not_after
            new = renewed(current, dns_names=names, ips=[LOOPBACK], now=later)
            assert new is not None
            assert new.ca == current.ca
            store.replace(new.to_data(), stored.resource_version)
            serial = new.serving.certificate.serial_number
            wait_for(partial(running.serves, serial, verify), what="the renewed certificate",
                     timeout=TIMEOUT)  # fmt: skip
            serials.add(serial)
        time.sleep(seconds / 4)
    finally:
        stop.set()
        sender.join(30)
    assert errors == []
    assert len(serials) == 4
    sent = len(statuses)
    assert sent >= rate * seconds / 2
    assert statuses == [202] * sent
    wait_for(lambda: running.jobs() == sent, what=f"{sent} Jobs", timeout=TIMEOUT)

    # The CA's turn: the new one is published beside the old one before it signs what is served.
    stored = store.get()
    assert stored is not None
    current = Material.from_data(stored.data)
    ca = current.ca.pair
    # Past 2/3 of the CA's life (due), not past its end (the old CA must still be trusted).
    due = ca.not_before + (ca.not_after - ca.not_before) * 0.7
    new = renewed(current, dns_names=names, ips=[LOOPBACK], now=due)
    assert new is not None
    assert new.trusted == (new.ca.cert_pem, current.ca.cert_pem)
    store.replace(new.to_data(), stored.resource_version)
    wait_for(
        lambda: running.status()["address"]["CACerts"] == new.bundle.decode(),
        what="both CAs in CACerts",
        timeout=TIMEOUT,
    )
    # Senders that re-read CACerts trust both CAs, so the switch to the new one is seamless.
    both = running.verify()
    serial = new.serving.certificate.serial_number
    wait_for(partial(running.serves, serial, both), what="the new CA's certificate",
             timeout=TIMEOUT)  # fmt: skip
    assert post(url, 10_000, verify=both).status_code == 202
