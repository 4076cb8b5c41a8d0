"""Key material for one local control plane, written as files the binaries read.

One CA (from our ``certs`` package) signs the apiserver's serving certificate, the admin
client certificate and is the ``--client-ca-file``; a separate RSA key pair signs
service-account tokens. Everything is fresh per run, so nothing secret outlives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certs.authority import CertificateAuthority, KeyPair

#: Names every client may use to reach the apiserver (and the controller manager).
SERVING_DNS_NAMES = ("localhost",)
SERVING_IPS = ("127.0.0.1",)
ADMIN_USER = "jobsink-admin"
ADMIN_GROUPS = ("system:masters",)


@dataclass(frozen=True)
class PkiFiles:
    """Paths of the PEM files under one directory."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "serving.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "serving.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def service_account_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def service_account_public_key(self) -> Path:
        return self.directory / "sa.pub"


def _write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only."""
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)


def _write_pair(cert_path: Path, key_path: Path, pair: KeyPair) -> None:
    cert_path.write_bytes(pair.cert_pem)
    _write_private(key_path, pair.key_pem)


def _service_account_keys() -> tuple[bytes, bytes]:
    """An RSA key pair for ``--service-account-signing-key-file`` (RS256, as clusters use)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def write_pki(
    directory: Path, *, extra_dns_names: Sequence[str] = (), extra_ips: Sequence[str] = ()
) -> tuple[PkiFiles, CertificateAuthority]:
    """Create the CA, leaves and service-account keys under ``directory``. ``extra_*``: more
    names for the serving certificate (the ones Pods use when a node routes Services)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = PkiFiles(directory)
    authority = CertificateAuthority.create("jobsink-local-control-plane")
    _write_pair(files.ca_cert, files.ca_key, authority.pair)
    serving = authority.issue_server(
        dns_names=[*SERVING_DNS_NAMES, *extra_dns_names], ips=[*SERVING_IPS, *extra_ips]
    )
    _write_pair(files.serving_cert, files.serving_key, serving)
    admin = authority.issue_client(ADMIN_USER, organizations=ADMIN_GROUPS)
    _write_pair(files.admin_cert, files.admin_key, admin)
    private_pem, public_pem = _service_account_keys()
    _write_private(files.service_account_key, private_pem)
    files.service_account_public_key.write_bytes(public_pem)
    return files, authority
