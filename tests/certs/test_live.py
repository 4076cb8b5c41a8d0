"""The live TLS context: only usable pairs get in, and a failed install leaves it serving."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

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


def negotiated(live: LiveContext, ca: CertificateAuthority, client_max: ssl.TLSVersion) -> str:
    """The TLS version a real loopback handshake settles on, or the client's error."""
    client = ssl.create_default_context(cadata=ca.cert_pem.decode())
    client.maximum_version = client_max
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(ssl.SSLError, OSError), conn:
                live.context.wrap_socket(conn, server_side=True).close()

        server = threading.Thread(target=accept)
        server.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
                client.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
            ):
                return str(tls.version())
        except ssl.SSLError as error:
            return f"refused: {error.reason}"
        finally:
            server.join(5)


@pytest.mark.parametrize(
    ("minimum", "client_max", "version"),
    [
        (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED, "TLSv1.3"),
        (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
        (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.MAXIMUM_SUPPORTED, "TLSv1.3"),
        (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2, "refused"),
    ],
    ids=["1.3-preferred", "1.2-allowed", "floor-1.3", "floor-1.3-refuses-1.2"],
)
def test_tls_floor_and_preference(
    ca: CertificateAuthority, minimum: ssl.TLSVersion, client_max: ssl.TLSVersion, version: str
) -> None:
    live = LiveContext(ca.issue_server(ips=["127.0.0.1"]), minimum=minimum)
    assert negotiated(live, ca, client_max).startswith(version)


def test_no_floor_below_tls12() -> None:
    with pytest.raises(ValueError, match=r"TLS below 1\.2 is not offered"):
        LiveContext(minimum=ssl.TLSVersion.MINIMUM_SUPPORTED)
