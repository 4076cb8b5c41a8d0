"""Transport encryption against the real server process over real TLS on loopback: the three
modes' listeners, the strict refusal, the TLS floor, and certificate reloads under load.

Kubernetes is the FAKE apiserver of ``fake_kube`` (the same modes run against the real apiserver
in tests/e2e/test_transport.py); the certificate pair is served from files.
"""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from certs.authority import CertificateAuthority, KeyPair
from receiver.httpsonly import refusal
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_shutdown import free_port, wait_ready
from tests.seed import SEED_BODY, SEED_HEADERS

PATH = "/default/job-sink-logger"


@dataclass
class Running:
    http: str
    https: str
    authority: CertificateAuthority
    files: Path

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.authority.cert_pem.decode())

    def write(self, pair: KeyPair) -> None:
        """Replace the served pair the way a volume swap does: both files, then nothing else."""
        for name, data in (("tls.crt", pair.cert_pem), ("tls.key", pair.key_pem)):
            scratch = self.files / f".{name}"
            scratch.write_bytes(data)
            scratch.replace(self.files / name)


@contextmanager
def receiver(fake_url: str, mode: str, files: Path) -> Iterator[Running]:
    authority = CertificateAuthority.create()
    running = Running("", "", authority, files)
    running.write(authority.issue_server(ips=["127.0.0.1"]))
    http_port, https_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.receiver.serve_fake", fake_url, str(http_port), mode,
         str(https_port), str(files / "tls.crt"), str(files / "tls.key")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    running.http, running.https = f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}"
    try:
        wait_ready(running.http + "/readyz")
        yield running
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        process.kill()


def event(number: int) -> dict[str, str]:
    return {**SEED_HEADERS, "ce-id": f"transport-{number}"}


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://job-sink.ns.svc.cluster.local", PATH,
         "https://job-sink.ns.svc.cluster.local/default/job-sink-logger"),
        ("https://127.0.0.1:8443/", "/a/b/c", "https://127.0.0.1:8443/a/b/c"),
    ],
)  # fmt: skip
def test_refusal_names_the_https_url(base: str, path: str, url: str) -> None:
    answer = refusal(base, path)
    assert answer.status_code == 404
    assert bytes(answer.body).startswith(b'{"error":"this receiver accepts events over HTTPS only')
    assert f'"url":"{url}"'.encode() in bytes(answer.body)


def test_strict_refuses_events_over_http_and_serves_them_over_https(
    fake: FakeKubeApi, fake_url: str, tmp_path: Path
) -> None:
    with receiver(fake_url, "strict", tmp_path) as running:
        plain = httpx.post(running.http + PATH, headers=SEED_HEADERS, content=SEED_BODY)
        assert plain.status_code == 404
        assert plain.json()["url"] == f"{running.https}{PATH}"
        assert "HTTPS only" in plain.json()["error"]
        assert fake.of("jobs") == []
        # The kubelet probes over plain HTTP in every mode.
        assert httpx.get(running.http + "/healthz").status_code == 200
        assert httpx.get(running.http + "/metrics").status_code == 200
        secure = httpx.post(running.https + PATH, headers=SEED_HEADERS, content=SEED_BODY,
                            verify=running.verify())  # fmt: skip
        assert secure.status_code == 202
    assert len(fake.of("jobs")) == 1


def test_permissive_serves_events_on_both_listeners(
    fake: FakeKubeApi, fake_url: str, tmp_path: Path
) -> None:
    with receiver(fake_url, "permissive", tmp_path) as running:
        secure = httpx.post(running.https + PATH, headers=SEED_HEADERS, content=SEED_BODY,
                            verify=running.verify())  # fmt: skip
        plain = httpx.post(running.http + PATH, content=SEED_BODY,
                           headers={**SEED_HEADERS, "accept": "application/json"})  # fmt: skip
        assert (secure.status_code, plain.status_code) == (202, 202)
        assert plain.json()["outcome"] == "duplicate"
    assert len(fake.of("jobs")) == 1


def test_disabled_runs_no_https_listener(fake_url: str, tmp_path: Path) -> None:
    with receiver(fake_url, "disabled", tmp_path) as running:
        assert httpx.post(running.http + PATH, headers=SEED_HEADERS,
                          content=SEED_BODY).status_code == 202  # fmt: skip
        with pytest.raises(httpx.ConnectError):
            httpx.get(running.https + "/healthz", verify=running.verify())


def served_serial(https: str, verify: ssl.SSLContext) -> int:
    """The serial number of the certificate a new connection is shown (the handshake verifies
    it against the CA, so a broken chain fails here too)."""
    url = httpx.URL(https)
    with (
        socket.create_connection((url.host, url.port), timeout=5) as sock,
        verify.wrap_socket(sock, server_hostname=url.host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_reloaded_certificates_reach_new_connections_and_lose_no_request(
    fake: FakeKubeApi, fake_url: str, tmp_path: Path
) -> None:
    """A steady stream of events over one kept-alive connection and fresh ones while the pair
    is replaced twice: every event gets 202 and one Job, new connections see the new pair."""
    rate, seconds = 20, 6.0
    with receiver(fake_url, "strict", tmp_path) as running:
        verify = running.verify()
        statuses: list[int] = []
        errors: list[str] = []
        stop = threading.Event()

        def send() -> None:
            number = 0
            with httpx.Client(verify=verify) as kept_alive:
                while not stop.is_set():
                    number += 1
                    # Every other event on a fresh connection, so some handshakes straddle a swap.
                    try:
                        if number % 2:
                            answer = kept_alive.post(running.https + PATH, headers=event(number),
                                                     content=SEED_BODY)  # fmt: skip
                        else:
                            answer = httpx.post(running.https + PATH, headers=event(number),
                                                content=SEED_BODY, verify=verify)  # fmt: skip
                        statuses.append(answer.status_code)
                    except httpx.HTTPError as error:
                        errors.append(repr(error))
                    time.sleep(1 / rate)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            serials = [served_serial(running.https, verify)]
            for _ in range(2):
                time.sleep(seconds / 3)
                pair = running.authority.issue_server(ips=["127.0.0.1"])
                running.write(pair)
                wanted = pair.certificate.serial_number
                deadline = time.monotonic() + 5
                while served_serial(running.https, verify) != wanted:
                    assert time.monotonic() < deadline, "the new certificate was never served"
                    time.sleep(0.1)
                serials.append(wanted)
            time.sleep(seconds / 3)
        finally:
            stop.set()
            sender.join(30)
    assert errors == []
    assert len(set(serials)) == 3
    # Sent, answered 202 and Jobs created all agree; the rate is a target the machine may miss.
    assert len(statuses) >= rate * seconds / 4
    assert statuses == [202] * len(statuses)
    assert len(fake.of("jobs")) == len(statuses)
