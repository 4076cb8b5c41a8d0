"""File mode: what is on disk is served; broken or half-written files never replace a good pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from certs.authority import CertificateAuthority
from certs.files import FileSource
from certs.live import InvalidKeyPair, LiveContext


@pytest.fixture
def source(tmp_path: Path) -> FileSource:
    return FileSource(LiveContext(), tmp_path / "tls.crt", tmp_path / "tls.key")


def _write(source: FileSource, cert: bytes, key: bytes) -> None:
    source.key_path.write_bytes(key)
    source.cert_path.write_bytes(cert)


def test_load_then_poll_picks_up_a_new_pair(source: FileSource) -> None:
    ca = CertificateAuthority.create()
    first, second = ca.issue_server(ips=["127.0.0.1"]), ca.issue_server(ips=["127.0.0.1"])
    _write(source, first.cert_pem, first.key_pem)
    assert source.load() is True
    assert source.poll() is False  # unchanged
    _write(source, second.cert_pem, second.key_pem)
    assert source.poll() is True
    assert source.live.pair == second


def test_missing_files_fail_load_with_the_path(source: FileSource) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        source.load()
    assert raised.value.filename == str(source.cert_path)


def test_half_written_pair_keeps_the_old_one_until_complete(source: FileSource) -> None:
    ca = CertificateAuthority.create()
    old, new = ca.issue_server(ips=["127.0.0.1"]), ca.issue_server(ips=["127.0.0.1"])
    _write(source, old.cert_pem, old.key_pem)
    source.load()
    source.cert_path.write_bytes(new.cert_pem)  # the key has not been written yet
    assert source.poll() is False
    assert source.live.pair == old
    with pytest.raises(InvalidKeyPair):
        source.load()
    source.key_path.write_bytes(new.key_pem)
    assert source.poll() is True
    assert source.live.pair == new


def test_deleted_files_keep_serving(source: FileSource) -> None:
    ca = CertificateAuthority.create()
    pair = ca.issue_server(ips=["127.0.0.1"])
    _write(source, pair.cert_pem, pair.key_pem)
    source.load()
    source.cert_path.unlink()
    assert source.poll() is False
    assert source.live.pair == pair


def test_a_broken_pair_is_logged_once(source: FileSource, caplog: pytest.LogCaptureFixture) -> None:
    ca = CertificateAuthority.create()
    pair = ca.issue_server(ips=["127.0.0.1"])
    _write(source, pair.cert_pem, pair.key_pem)
    source.load()
    source.cert_path.write_bytes(b"garbage")
    with caplog.at_level("WARNING", logger="certs.files"):
        for _ in range(3):
            source.poll()
    assert len(caplog.records) == 1
