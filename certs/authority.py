"""A small certificate authority: one CA key pair that issues serving and client certificates.

Keys are EC P-256: small, fast to generate (milliseconds, so tests can make fresh ones) and
accepted by kube-apiserver, Go's TLS stack and Python's ``ssl``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Default lifetimes. Renewal happens at about 2/3 of a lifetime (see ``renewal_due``).
CA_LIFETIME = dt.timedelta(days=365 * 5)
LEAF_LIFETIME = dt.timedelta(days=90)
#: Certificates are back-dated a little so that small clock skews never make them "not yet valid".
BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM-encoded."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def not_before(self) -> dt.datetime:
        return self.certificate.not_valid_before_utc


def renewal_due(pair: KeyPair, *, now: dt.datetime | None = None, fraction: float = 2 / 3) -> bool:
    """True once ``fraction`` of the certificate's lifetime has passed."""
    now = now or dt.datetime.now(dt.UTC)
    lifetime = pair.not_after - pair.not_before
    return now >= pair.not_before + lifetime * fraction


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA that can issue leaves. ``pair`` holds the CA certificate and key."""

    pair: KeyPair

    @classmethod
    def create(
        cls, common_name: str = "jobsink-ca", *, lifetime: dt.timedelta = CA_LIFETIME
    ) -> CertificateAuthority:
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        name = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + lifetime)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)))

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        return cls(KeyPair(cert_pem, key_pem))

    @property
    def cert_pem(self) -> bytes:
        return self.pair.cert_pem

    def _issue(
        self,
        subject: x509.Name,
        *,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName],
        lifetime: dt.timedelta,
    ) -> KeyPair:
        ca_key = serialization.load_pem_private_key(self.pair.key_pem, password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = self.pair.certificate
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        # A leaf never outlives its CA: clients would reject the chain at the CA's expiry anyway.
        not_after = min(now + lifetime, ca_cert.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_encipherment=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    content_commitment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def issue_server(
        self,
        *,
        dns_names: list[str] | tuple[str, ...] = (),
        ips: list[str] | tuple[str, ...] = (),
        lifetime: dt.timedelta = LEAF_LIFETIME,
    ) -> KeyPair:
        """A serving certificate. Go ignores the CN, so every name must be a SAN."""
        sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if not sans:
            raise ValueError("a serving certificate needs at least one DNS name or IP address")
        common_name = dns_names[0] if dns_names else ips[0]
        return self._issue(
            _name(common_name), usage=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans, lifetime=lifetime
        )

    def issue_client(
        self,
        common_name: str,
        *,
        organizations: list[str] | tuple[str, ...] = (),
        lifetime: dt.timedelta = LEAF_LIFETIME,
    ) -> KeyPair:
        """A client certificate; kube-apiserver reads the user from CN and groups from O."""
        return self._issue(
            _name(common_name, tuple(organizations)),
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            sans=[],
            lifetime=lifetime,
        )
