"""``jobsink certs create`` and ``jobsink webhook``: files written, and one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _sans(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v) for v in names.get_values_for_type(x509.DNSName)] + [
        str(v) for v in names.get_values_for_type(x509.IPAddress)
    ]


def _issued_by(leaf: Path, ca: Path) -> bool:
    x509.load_pem_x509_certificate(leaf.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca.read_bytes())
    )
    return True


def test_create_writes_ca_and_serving_pair_for_localhost(tmp_path: Path) -> None:
    result = runner.invoke(app, ["certs", "create", "--out", str(tmp_path / "certs")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "certs"
    assert sorted(p.name for p in out.iterdir()) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    assert _sans(out / "tls.crt") == ["localhost", "127.0.0.1"]
    assert _issued_by(out / "tls.crt", out / "ca.crt")
    for key in ("ca.key", "tls.key"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600


def test_create_with_names_and_a_reused_ca(tmp_path: Path) -> None:
    first = ["certs", "create", "--out", str(tmp_path), "--dns", "a.svc", "--ip", "10.0.0.7"]
    assert runner.invoke(app, first).exit_code == 0
    ca_before = (tmp_path / "ca.crt").read_bytes()
    leaf_before = (tmp_path / "tls.crt").read_bytes()
    again = ["certs", "create", "--out", str(tmp_path), "--ca-dir", str(tmp_path), "--dns", "b.svc"]
    result = runner.invoke(app, again)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ca.crt").read_bytes() == ca_before
    assert (tmp_path / "tls.crt").read_bytes() != leaf_before
    assert _sans(tmp_path / "tls.crt") == ["b.svc"]
    assert _issued_by(tmp_path / "tls.crt", tmp_path / "ca.crt")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--ip", "not-an-ip"], "error: --ip: 'not-an-ip' is not an IP address", id="ip"
        ),
        pytest.param(["--ca-dir", "/nonexistent"], "error: --ca-dir: cannot read", id="ca-dir"),
        pytest.param(["--days", "0"], "Invalid value for '--days'", id="days"),
    ],
)
def test_create_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["certs", "create", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"],
                     "error: cannot read /nonexistent.crt", id="missing-cert"),
        pytest.param(["--port", "70000"],
                     "error: port (JOBSINK_WEBHOOK_PORT): Input should be less than or equal",
                     id="port"),
        pytest.param(["--log-level", "loud"],
                     "error: log_level (JOBSINK_WEBHOOK_LOG_LEVEL): Input should be",
                     id="log-level"),
        pytest.param(["--max-body-bytes", "0"],
                     "error: max_body_bytes (JOBSINK_WEBHOOK_MAX_BODY_BYTES):", id="body-limit"),
    ],
)  # fmt: skip
def test_webhook_errors_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["webhook", "--no-dry-run", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_webhook_refuses_a_key_that_does_not_match(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert runner.invoke(app, ["certs", "create", "--out", str(tmp_path / name)]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "webhook",
            "--no-dry-run",
            "--tls-cert",
            str(tmp_path / "a" / "tls.crt"),
            "--tls-key",
            str(tmp_path / "b" / "tls.key"),
        ],
    )
    assert result.exit_code == 2
    assert "certificate and key cannot be served" in result.output
