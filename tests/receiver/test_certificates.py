"""The receiver's certificate sources: which one a setting picks, the names a self-managed
certificate covers, and the trust bundle the status publishes as ``CACerts``."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from kubernetes import client

from certs.authority import CertificateAuthority
from certs.files import FileSource
from certs.live import InvalidKeyPair, LiveContext
from receiver.certificates import TrustBundle, build, from_files, service_dns_names
from receiver.settings import ServerSettings, Settings, StatusSettings, TlsSettings


def files(tmp_path: Path, authority: CertificateAuthority) -> TlsSettings:
    pair = authority.issue_server(dns_names=["job-sink.knative-eventing.svc"])
    (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
    (tmp_path / "tls.key").write_bytes(pair.key_pem)
    (tmp_path / "ca.crt").write_bytes(authority.cert_pem)
    return TlsSettings(cert=tmp_path / "tls.crt", key=tmp_path / "tls.key", ca=tmp_path / "ca.crt")


def test_disabled_needs_no_certificate() -> None:
    assert build(Settings(), client.ApiClient()) is None


@pytest.mark.parametrize(
    ("min_version", "floor"),
    [("1.2", ssl.TLSVersion.TLSv1_2), ("1.3", ssl.TLSVersion.TLSv1_3)],
)
def test_files_are_served_and_their_ca_published(
    tmp_path: Path, min_version: str, floor: ssl.TLSVersion
) -> None:
    authority = CertificateAuthority.create()
    tls = files(tmp_path, authority).model_copy(update={"min_version": min_version})
    server = ServerSettings(transport_encryption="strict", tls=tls)
    certificates = build(Settings(server=server), client.ApiClient())
    assert certificates is not None
    assert certificates.loaded
    assert certificates.live.context.minimum_version == floor
    assert certificates.trust.pem == authority.cert_pem.decode()


def test_a_new_pair_rereads_the_ca(tmp_path: Path) -> None:
    first, second = CertificateAuthority.create(), CertificateAuthority.create()
    tls = files(tmp_path, first)
    assert tls.cert is not None
    assert tls.key is not None
    certificates = from_files(LiveContext(), tls.cert, tls.key, tls.ca)
    seen: list[str | None] = []
    certificates.trust.subscribe(seen.append)
    # cert-manager after a CA rotation: a new pair, signed by the new CA, and the new ca.crt.
    files(tmp_path, second)
    assert certificates.background  # the file watcher; one poll picks the swap up
    FileSource(certificates.live, tls.cert, tls.key).poll()
    assert seen == [second.cert_pem.decode()]


def test_unusable_files_fail_at_start(tmp_path: Path) -> None:
    tls = files(tmp_path, CertificateAuthority.create())
    stranger = CertificateAuthority.create().issue_server(ips=["127.0.0.1"])
    (tmp_path / "tls.key").write_bytes(stranger.key_pem)
    server = ServerSettings(transport_encryption="permissive", tls=tls)
    with pytest.raises(InvalidKeyPair):
        build(Settings(server=server), client.ApiClient())


def test_self_managed_names_every_service_dns_name() -> None:
    names = service_dns_names(StatusSettings(system_namespace="eventing", cluster_domain="c.test"))
    assert names == [
        "job-sink",
        "job-sink.eventing",
        "job-sink.eventing.svc",
        "job-sink.eventing.svc.c.test",
    ]


def test_trust_bundle_tells_subscribers_of_changes_only() -> None:
    trust = TrustBundle()
    seen: list[str | None] = []
    trust.subscribe(seen.append)
    assert trust.set("A") is True
    assert trust.set("A") is False
    assert trust.set("A+B") is True
    assert (trust.pem, seen) == ("A+B", ["A", "A+B"])
