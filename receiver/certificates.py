"""The HTTPS listener's serving certificate and the CA certificates its clients must trust.

Two sources, one shape (``ServingCertificates``): files (a cert-manager Secret mounted as a
volume, or any pair on disk; ``certs.files`` reloads them) or self-managed (``certs.managed``: a CA
and a serving certificate for the Service's DNS names in a Secret, renewed at 2/3 of their lives).
Either way the certificate is swapped in the live ``SSLContext``: new connections get it, open
ones keep theirs, nothing restarts. The trust bundle (``TrustBundle``) is what the status
reconciler publishes as ``CACerts``; during a CA rotation it holds the new CA and the old one.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certs.authority import KeyPair
from certs.files import FileSource
from certs.live import LiveContext
from certs.rotation import Lifetimes
from kubeapi.transport import Api
from receiver.settings import Settings, StatusSettings, TlsVersion

log = logging.getLogger(__name__)

#: The CA's common name in self-managed mode, so that it reads as the receiver's in a chain.
CA_NAME = "job-sink-ca"

TLS_VERSIONS: dict[TlsVersion, ssl.TLSVersion] = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

Task = Callable[[], Coroutine[Any, Any, None]]


class TrustBundle:
    """PEM of the CA certificates that sign the serving certificate; subscribers hear of changes
    (from the event loop in file mode, from a worker thread in self-managed mode)."""

    def __init__(self, pem: str | None = None) -> None:
        self._lock = threading.Lock()
        self._pem = pem
        self._subscribers: list[Callable[[str | None], None]] = []

    @property
    def pem(self) -> str | None:
        with self._lock:
            return self._pem

    def subscribe(self, subscriber: Callable[[str | None], None]) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def set(self, pem: str | None) -> bool:
        """Replace the bundle; False when it is unchanged (subscribers are not called then)."""
        with self._lock:
            if pem == self._pem:
                return False
            self._pem = pem
            subscribers = list(self._subscribers)
        log.info("CA certificates for https addresses changed")
        for subscriber in subscribers:
            subscriber(pem)
        return True


@dataclass
class ServingCertificates:
    """The live context the HTTPS listener serves from, the trust bundle, and the tasks that keep
    both current (run on the server's event loop: installs must happen there)."""

    live: LiveContext
    trust: TrustBundle
    background: list[Task] = field(default_factory=list)
    #: Set by the server once the HTTPS listener accepts connections (``receiver.server``).
    listening: bool = False

    @property
    def loaded(self) -> bool:
        """Whether a serving certificate is loaded, so the HTTPS listener can start."""
        return self.live.ready


def service_dns_names(status: StatusSettings) -> list[str]:
    """Every name the receiver's Service answers to inside the cluster."""
    base = f"{status.service_name}.{status.system_namespace}"
    return [status.service_name, base, f"{base}.svc", f"{base}.svc.{status.cluster_domain}"]


def from_files(live: LiveContext, cert: Path, key: Path, ca: Path | None) -> ServingCertificates:
    """Serve ``cert``/``key``, reloaded when they change; publish ``ca``, read again with every new
    pair (cert-manager swaps the three files of its Secret at once). Raises ``OSError`` or
    ``InvalidKeyPair`` when the files are unusable at start."""
    trust = TrustBundle(ca.read_text() if ca else None)

    def reread_ca(_pair: KeyPair) -> None:
        if ca is None:
            return
        try:
            trust.set(ca.read_text())
        except OSError as error:
            log.warning(
                "CA file not read; still publishing the previous one",
                extra={"ca": str(ca), "error": str(error)},
            )

    files = FileSource(live, cert, key)
    files.load()  # fail at start, not at the first handshake
    live.listeners.append(reread_ca)
    return ServingCertificates(live, trust, [files.watch])


def self_managed(live: LiveContext, api_client: Api, settings: Settings) -> ServingCertificates:
    """Keep a CA and serving certificate in the Secret ``settings.server.tls.secret``."""
    from certs.managed import SelfManaged

    tls, status = settings.server.tls, settings.status
    trust = TrustBundle()

    def publish(bundle: bytes) -> bool:
        trust.set(bundle.decode())
        return True

    managed = SelfManaged.in_secret(
        api_client,
        live,
        publish,
        namespace=status.system_namespace,
        secret=tls.secret,
        dns_names=service_dns_names(status),
        ips=[str(ip) for ip in tls.ips],
        ca_name=CA_NAME,
        lifetimes=Lifetimes(
            ca=dt.timedelta(seconds=tls.ca_lifetime_seconds),
            serving=dt.timedelta(seconds=tls.serving_lifetime_seconds),
        ),
        resync_seconds=tls.resync_seconds,
    )
    return ServingCertificates(live, trust, [managed.run])


def build(settings: Settings, api_client: Api) -> ServingCertificates | None:
    """The HTTPS listener's certificates, or None when ``transport_encryption`` is disabled."""
    server = settings.server
    if not server.https:
        return None
    tls = server.tls
    live = LiveContext(minimum=TLS_VERSIONS[tls.min_version])
    if tls.cert is not None and tls.key is not None:
        return from_files(live, tls.cert, tls.key, tls.ca)
    return self_managed(live, api_client, settings)
