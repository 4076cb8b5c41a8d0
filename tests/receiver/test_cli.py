"""``jobsink receiver``: bad settings are one readable line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from cli.main import app
from cli.settings import option_help
from receiver.settings import KubeSettings, ServerSettings, StatusSettings


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--port", "70000"], "server.port (JOBSINK_RECEIVER_PORT): ", id="port"),
        pytest.param(
            ["--max-inflight", "0"],
            "limits.max_inflight (JOBSINK_RECEIVER_MAX_INFLIGHT): ",
            id="inflight-zero",
        ),
        pytest.param(
            ["--log-level", "loud"], "log_level (JOBSINK_RECEIVER_LOG_LEVEL): ", id="log-level"
        ),
        pytest.param(["--kube-qps", "-1"], "kube.qps (JOBSINK_RECEIVER_KUBE_QPS): ", id="qps"),
    ],
)
def test_bad_flags_exit_2_with_one_line_naming_the_setting(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["receiver", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param(
            "JOBSINK_RECEIVER_STATUS_RECONCILER",
            "maybe",
            "status.enabled (JOBSINK_RECEIVER_STATUS_RECONCILER): ",
            id="aliased-variable",
        ),
        pytest.param(
            "JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS",
            "-1",
            "sweeper.grace_seconds (JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS): ",
            id="group-prefix",
        ),
        pytest.param(
            "JOBSINK_RECEIVER_LEASE_RENEW_SECONDS",
            "20",
            "status.lease: Value error, renew_seconds (20) must be shorter than "
            "duration_seconds (15)",
            id="nested-group-check",
        ),
    ],
)
def test_bad_variables_exit_2_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["receiver"])
    assert result.exit_code == 2
    assert message in result.output


def test_tls_cert_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "tls.crt"
    cert.write_text("x")
    result = CliRunner().invoke(app, ["receiver", "--tls-cert", str(cert)])
    assert result.exit_code == 2
    assert "tls cert and key go together" in result.output


def test_help_lists_the_flags() -> None:
    result = CliRunner().invoke(app, ["receiver", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--port",
        "--transport-encryption",
        "--https-port",
        "--tls-cert",
        "--tls-key",
        "--tls-ca",
        "--tls-min-version",
        "--kubeconfig",
    ):
        assert flag in result.output


@pytest.mark.parametrize(
    ("model", "name", "help_text"),
    [
        pytest.param(
            ServerSettings, "port", "Port (default 8080; JOBSINK_RECEIVER_PORT).", id="default"
        ),
        pytest.param(
            StatusSettings,
            "enabled",
            "On (default on; JOBSINK_RECEIVER_STATUS_RECONCILER).",
            id="bool-and-alias",
        ),
        pytest.param(
            KubeSettings, "kubeconfig", "File (JOBSINK_RECEIVER_KUBECONFIG).", id="no-default"
        ),
    ],
)
def test_flag_help_reads_default_and_variable_from_the_model(
    model: type[BaseSettings], name: str, help_text: str
) -> None:
    assert option_help(model, name, help_text.split(" (")[0]) == help_text
