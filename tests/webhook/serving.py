"""A real webhook server (uvicorn, uvloop, httptools, TLS) on a loopback port, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
import uvloop

from certs.authority import CertificateAuthority
from webhook.server import Webhook, build
from webhook.settings import Settings


@dataclass
class Running:
    webhook: Webhook
    port: int
    ca: CertificateAuthority
    cert_dir: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client_context(self, ca_pem: bytes | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=(ca_pem or self.ca.cert_pem).decode())
        return context


def write_pair(directory: Path, ca: CertificateAuthority) -> bytes:
    """A fresh serving pair for 127.0.0.1 in ``directory``; returns the certificate PEM."""
    pair = ca.issue_server(dns_names=["localhost"], ips=["127.0.0.1"])
    (directory / "tls.key.new").write_bytes(pair.key_pem)
    (directory / "tls.crt.new").write_bytes(pair.cert_pem)
    (directory / "tls.key.new").replace(directory / "tls.key")
    (directory / "tls.crt.new").replace(directory / "tls.crt")
    return pair.cert_pem


@contextlib.contextmanager
def serving(cert_dir: Path, **overrides: object) -> Iterator[Running]:
    ca = CertificateAuthority.create()
    (cert_dir / "ca.crt").write_bytes(ca.cert_pem)
    write_pair(cert_dir, ca)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = Settings(
        port=port,
        host="127.0.0.1",
        tls_cert=cert_dir / "tls.crt",
        tls_key=cert_dir / "tls.key",
        dry_run=False,
        **overrides,  # type: ignore[arg-type]
    )
    webhook = build(settings)
    server = uvicorn.Server(webhook.config())

    def run() -> None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(webhook.serve(server, sockets=[listener]))

    thread = threading.Thread(target=run, name="webhook-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("webhook server did not start")
        time.sleep(0.01)
    try:
        yield Running(webhook=webhook, port=port, ca=ca, cert_dir=cert_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
