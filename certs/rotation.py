"""What a self-managed certificate Secret should hold next: pure, given its contents and the time.

Used by every server that keeps its own certificates (the webhook, the receiver's HTTPS
listener); ``ca_name`` tells their CAs apart.

Lifetimes and renewal (``certs.authority`` defaults): the CA lives 5 years and is replaced after
2/3 of that; the serving certificate lives 90 days and is re-issued after 60. A new CA does not
make the old one untrusted: the old CA stays in the trust bundle (``ca-bundle.crt``, published where
clients read it) until it expires, so the serving certificate it signed keeps working
until its own renewal, which then uses the new CA. Nothing ever has to switch at one instant.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from certs.authority import (
    CA_LIFETIME,
    LEAF_LIFETIME,
    CertificateAuthority,
    KeyPair,
    renewal_due,
)

#: Keys of the Secret. ``tls.crt``/``tls.key``/``ca.crt`` follow the kubernetes.io/tls and
#: cert-manager conventions, so the Secret also works as a plain mounted certificate.
KEYS = ("ca.crt", "ca.key", "ca-bundle.crt", "tls.crt", "tls.key")
#: The CA's common name when its user names none.
DEFAULT_CA_NAME = "jobsink-ca"


@dataclass(frozen=True)
class Lifetimes:
    ca: dt.timedelta = CA_LIFETIME
    serving: dt.timedelta = LEAF_LIFETIME


@dataclass(frozen=True)
class Material:
    """The contents of the Secret: the signing CA, every CA still trusted, the serving pair."""

    ca: CertificateAuthority
    trusted: tuple[bytes, ...]
    serving: KeyPair

    @property
    def bundle(self) -> bytes:
        """PEM of every trusted CA, newest first: what clients must trust (a webhook's
        ``caBundle``, the ``CACerts`` of a JobSink's https address)."""
        return b"".join(self.trusted)

    def to_data(self) -> dict[str, str]:
        raw = {
            "ca.crt": self.ca.cert_pem,
            "ca.key": self.ca.pair.key_pem,
            "ca-bundle.crt": self.bundle,
            "tls.crt": self.serving.cert_pem,
            "tls.key": self.serving.key_pem,
        }
        return {key: base64.b64encode(value).decode() for key, value in raw.items()}

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> Material:
        """Read a Secret's ``data``. Raises ``ValueError`` if a key is missing or not PEM."""
        missing = [key for key in KEYS if not data.get(key)]
        if missing:
            raise ValueError(f"missing keys: {', '.join(missing)}")
        raw = {key: base64.b64decode(data[key]) for key in KEYS}
        trusted = tuple(
            cert.public_bytes(Encoding.PEM)
            for cert in x509.load_pem_x509_certificates(raw["ca-bundle.crt"])
        )
        material = cls(
            ca=CertificateAuthority.load(raw["ca.crt"], raw["ca.key"]),
            trusted=trusted,
            serving=KeyPair(raw["tls.crt"], raw["tls.key"]),
        )
        material.ca.pair.certificate  # noqa: B018  # parse now so garbage fails here, not later
        material.serving.certificate  # noqa: B018
        return material


def fresh(
    dns_names: Sequence[str],
    lifetimes: Lifetimes = Lifetimes(),
    ips: Sequence[str] = (),
    *,
    ca_name: str = DEFAULT_CA_NAME,
) -> Material:
    ca = CertificateAuthority.create(ca_name, lifetime=lifetimes.ca)
    serving = ca.issue_server(dns_names=list(dns_names), ips=list(ips), lifetime=lifetimes.serving)
    return Material(ca=ca, trusted=(ca.cert_pem,), serving=serving)


def _expired(cert_pem: bytes, now: dt.datetime) -> bool:
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc <= now


def _covers(serving: KeyPair, dns_names: Sequence[str], ips: Sequence[str]) -> bool:
    try:
        sans = serving.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    served_ips = {str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)}
    wanted_ips = {str(ipaddress.ip_address(ip)) for ip in ips}
    return set(dns_names) <= set(sans.value.get_values_for_type(x509.DNSName)) and (
        wanted_ips <= served_ips
    )


def _signed_by(serving: KeyPair, ca_pem: bytes) -> bool:
    try:
        serving.certificate.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def renewed(
    current: Material | None,
    *,
    dns_names: Sequence[str],
    ips: Sequence[str] = (),
    now: dt.datetime | None = None,
    lifetimes: Lifetimes = Lifetimes(),
    ca_name: str = DEFAULT_CA_NAME,
) -> Material | None:
    """The material to store instead of ``current``, or None when ``current`` is fine."""
    if current is None:
        return fresh(dns_names, lifetimes, ips, ca_name=ca_name)
    now = now or dt.datetime.now(dt.UTC)
    updated = current
    if renewal_due(current.ca.pair, now=now):
        ca = CertificateAuthority.create(ca_name, lifetime=lifetimes.ca)
        updated = replace(updated, ca=ca, trusted=(ca.cert_pem, *updated.trusted))
    trusted = tuple(pem for pem in updated.trusted if not _expired(pem, now))
    if updated.ca.cert_pem not in trusted:
        trusted = (updated.ca.cert_pem, *trusted)
    updated = replace(updated, trusted=trusted)
    serving = updated.serving
    if (
        renewal_due(serving, now=now)
        or not _covers(serving, dns_names, ips)
        or not any(_signed_by(serving, pem) for pem in trusted)
    ):
        serving = updated.ca.issue_server(
            dns_names=list(dns_names), ips=list(ips), lifetime=lifetimes.serving
        )
        updated = replace(updated, serving=serving)
    return None if updated == current else updated


def next_check(material: Material, *, now: dt.datetime | None = None) -> dt.timedelta:
    """Time until something in ``material`` is due for renewal (or an old CA expires)."""
    now = now or dt.datetime.now(dt.UTC)
    due = []
    for pair in (material.ca.pair, material.serving):
        due.append(pair.not_before + (pair.not_after - pair.not_before) * 2 / 3)
    due += [x509.load_pem_x509_certificate(pem).not_valid_after_utc for pem in material.trusted]
    return max(min(due) - now, dt.timedelta(0))
