"""The live TLS context: only usable pairs get in, and a failed install leaves it serving."""

from __future__ import annotations

import ssl

import pytest

from certs.authority import CertificateAuthority, KeyPair
from certs.live import InvalidKeyPair, LiveContext


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def test_install_serves_the_pair_and_reports_a_repeat(ca: CertificateAuthority) -> None:
    pair = ca.issue_server(ips=["127.0.0.1"])
    live = LiveContext()
    assert not live.ready
    assert live.install(pair) is True
    assert live.ready
    assert live.pair == pair
    assert live.install(pair) is False


def test_context_is_tls12_or_newer_and_http11_only() -> None:
    live = LiveContext()
    assert live.context.minimum_version >= ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda a, b: KeyPair(a.cert_pem, b.key_pem), id="key-of-another-cert"),
        pytest.param(lambda a, b: KeyPair(b"not pem", a.key_pem), id="garbage-certificate"),
        pytest.param(lambda a, b: KeyPair(a.cert_pem, b""), id="empty-key"),
    ],
)
def test_unusable_pair_is_refused_and_the_old_one_kept(ca: CertificateAuthority, broken) -> None:  # type: ignore[no-untyped-def]
    good = ca.issue_server(ips=["127.0.0.1"])
    other = ca.issue_server(ips=["127.0.0.1"])
    live = LiveContext(good)
    with pytest.raises(InvalidKeyPair, match="cannot be served"):
        live.install(broken(other, good))
    assert live.pair == good


def test_listeners_hear_about_new_pairs(ca: CertificateAuthority) -> None:
    live = LiveContext()
    seen: list[KeyPair] = []
    live.listeners.append(seen.append)
    pair = ca.issue_server(dns_names=["localhost"])
    live.install(pair)
    live.install(pair)
    assert seen == [pair]
