"""``jobsink status``: what each receiver answer means, and --wait over a loopback socket."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from cli import status
from cli.exits import ExitCode
from tests.cli.conftest import Answer, Loopback, single_command_app

APP = single_command_app(status.register)
LOCATION = "/namespaces/default/name/job-sink-logger/sources/my%2Fcurl%2Fcommand/ids/123"


def _json(code: int, body: object) -> Answer:
    return Answer(code, {"content-type": "application/json"}, json.dumps(body).encode())


RUNNING = _json(202, {"namespace": "default", "job": "job-sink-logger-abc", "conditions": []})
COMPLETE = _json(
    200,
    {
        "namespace": "default",
        "job": "job-sink-logger-abc",
        "conditions": [{"type": "Complete", "status": "True"}],
    },
)
FAILED = _json(
    400,
    {
        "namespace": "default",
        "job": {"name": "job-sink-logger-abc"},
        "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "x"}
        ],
    },
)


def _response(answer: Answer) -> httpx.Response:
    return httpx.Response(answer.status, headers=answer.headers, content=answer.body)


@pytest.mark.parametrize(
    ("answer", "state", "code", "lines"),
    [
        pytest.param(
            RUNNING,
            "Running",
            ExitCode.PENDING,
            ["Running: job default/job-sink-logger-abc"],
            id="202-running",
        ),
        pytest.param(
            COMPLETE,
            "Complete",
            ExitCode.OK,
            ["Complete: job default/job-sink-logger-abc", "  Complete=True"],
            id="200-complete",
        ),
        pytest.param(
            FAILED,
            "Failed",
            ExitCode.REFUSED,
            [
                "Failed: job default/job-sink-logger-abc",
                "  Failed=True  BackoffLimitExceeded x",
            ],
            id="400-failed",
        ),
        pytest.param(
            _json(404, {"message": "no Job for this event"}),
            "Error",
            ExitCode.NOT_FOUND,
            ["404 Not Found: no Job for this event"],
            id="404",
        ),
        pytest.param(
            _json(400, {"message": "malformed location"}),
            "Error",
            ExitCode.REFUSED,
            ["400 Bad Request: malformed location"],
            id="400-without-job-is-a-bad-request",
        ),
        pytest.param(
            Answer(500), "Error", ExitCode.REFUSED, ["500 Internal Server Error"], id="500"
        ),
    ],
)
def test_report(answer: Answer, state: str, code: ExitCode, lines: list[str]) -> None:
    result = status.report(_response(answer))
    assert (result.state, result.code, result.lines) == (state, code, lines)


def test_once_without_wait_exits_pending(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.append(RUNNING)
    result = runner.invoke(APP, ["status", LOCATION, "--url", loopback.url])
    assert result.exit_code == ExitCode.PENDING
    assert loopback.requests[0].path == LOCATION


def test_wait_polls_until_complete_and_prints_changes_once(
    runner: CliRunner, loopback: Loopback
) -> None:
    loopback.answers.extend([RUNNING, RUNNING, COMPLETE])
    result = runner.invoke(
        APP, ["status", f"{loopback.url}{LOCATION}", "--wait", "--interval", "0.1"]
    )
    assert result.exit_code == ExitCode.OK
    assert result.stdout.splitlines() == [
        "Running: job default/job-sink-logger-abc",
        "Complete: job default/job-sink-logger-abc",
        "  Complete=True",
    ]
    assert len(loopback.requests) == 3


def test_wait_timeout_gives_up_pending(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.append(RUNNING)
    polling = ["--wait", "--interval", "0.1", "--wait-timeout", "0.3"]
    result = runner.invoke(APP, ["status", LOCATION, "--url", loopback.url, *polling])
    assert result.exit_code == ExitCode.PENDING


def test_wait_stops_on_failure(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.extend([RUNNING, FAILED])
    result = runner.invoke(
        APP, ["status", LOCATION, "--url", loopback.url, "--wait", "--interval", "0.1"]
    )
    assert result.exit_code == ExitCode.REFUSED
    assert "Failed: job default/job-sink-logger-abc" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["relative/path"], ExitCode.USAGE, "neither a URL nor a path", id="bad"),
        pytest.param(
            [LOCATION, "--url", "http://127.0.0.1:9"],
            ExitCode.UNREACHABLE,
            "cannot reach http://127.0.0.1:9/namespaces/",
            id="unreachable",
        ),
    ],
)
def test_errors_are_one_line(
    runner: CliRunner, args: list[str], code: ExitCode, message: str
) -> None:
    result = runner.invoke(APP, ["status", *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_found_exits_4(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.append(_json(404, {"message": "no such Job"}))
    result = runner.invoke(APP, ["status", LOCATION, "--url", loopback.url, "--wait"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stderr.strip() == "error: 404 Not Found: no such Job"


def test_a_token_goes_out_with_every_poll(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.append(_json(202, {"state": "Running"}))
    loopback.answers.append(_json(200, {"state": "Complete"}))
    polling = ["--wait", "--interval", "0.1", "--token", "t0k3n"]
    result = runner.invoke(APP, ["status", LOCATION, "--url", loopback.url, *polling])
    assert result.exit_code == ExitCode.OK
    assert [r.headers["authorization"] for r in loopback.requests] == ["Bearer t0k3n"] * 2
