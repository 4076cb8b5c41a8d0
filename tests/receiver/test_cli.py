"""``jobsink receiver``: bad settings are one readable line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--port", "70000"], "port", id="port-range"),
        pytest.param(["--max-inflight", "0"], "max_inflight", id="inflight-zero"),
        pytest.param(["--log-level", "loud"], "log_level", id="log-level"),
    ],
)
def test_bad_settings_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["receiver", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_tls_cert_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "tls.crt"
    cert.write_text("x")
    result = CliRunner().invoke(app, ["receiver", "--tls-cert", str(cert)])
    assert result.exit_code == 2
    assert "tls_cert and tls_key go together" in result.output


def test_help_lists_the_flags() -> None:
    result = CliRunner().invoke(app, ["receiver", "--help"])
    assert result.exit_code == 0
    for flag in ("--port", "--tls-cert", "--tls-key", "--kubeconfig", "--http-port"):
        assert flag in result.output
