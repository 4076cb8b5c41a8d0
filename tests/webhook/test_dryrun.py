"""The dry-run step's outcomes: refused -> field errors, at each cause's field under spec.job
(on spec.job itself when no cause names a field); unavailable -> warning.

The apiserver side is ``StubApiserver``: a plain HTTP server on loopback that answers the Job
create with a chosen status and ``Status`` body, or never answers. The real apiserver path
(a ValidatingAdmissionPolicy refusing the Job) runs in tests/e2e/test_admission.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client

from tests.webhook.reviews import example
from webhook.dryrun import DryRun


class StubApiserver(ThreadingHTTPServer):
    """Answers every POST with ``status`` and ``body`` after ``delay`` seconds."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 201
        self.body: dict[str, object] = {}
        self.delay = 0.0
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: StubApiserver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.server.paths.append(self.path)
        time.sleep(self.server.delay)
        data = json.dumps(self.server.body).encode()
        self.send_response(self.server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def apiserver() -> Iterator[StubApiserver]:
    server = StubApiserver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _api(port: int) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    return client.ApiClient(configuration)


def _status(code: int, reason: str, message: str) -> dict[str, object]:
    return {
        "kind": "Status",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def test_accepted_job_passes_and_is_sent_as_a_strict_dry_run(apiserver: StubApiserver) -> None:
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=2).check(example(), "ns1")
    )
    assert verdict.errors == []
    assert verdict.warnings == []
    assert apiserver.paths == [
        "/apis/batch/v1/namespaces/ns1/jobs?dryRun=All&fieldValidation=Strict"
    ]


@pytest.mark.parametrize(
    ("status", "reason"),
    [(422, "Invalid"), (403, "Forbidden"), (400, "BadRequest")],
)
def test_refused_job_is_a_field_error_on_spec_job(
    apiserver: StubApiserver, status: int, reason: str
) -> None:
    apiserver.status = status
    apiserver.body = _status(status, reason, 'jobs.batch "x" is forbidden: exceeded quota')
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=2).check(example(), "ns")
    )
    assert [e.path for e in verdict.errors] == ["spec.job"]
    assert "exceeded quota" in verdict.errors[0].message


CAUSE_INVALID = {
    "reason": "FieldValueInvalid",
    "message": "Invalid value: 40: must have at most 32 items",
    "field": "spec.template.spec.dnsConfig.searches",
}
CAUSE_LABEL = {
    "reason": "FieldValueInvalid",
    "message": 'Invalid value: "x y": a valid label must be...',
    "field": "metadata.labels",
}
CAUSE_POLICY = {"message": "ValidatingAdmissionPolicy 'p' denied request: no"}
REFUSED = "the apiserver refused a dry-run create of the Job"


@pytest.mark.parametrize(
    ("causes", "expected"),
    [
        pytest.param(
            [CAUSE_INVALID, CAUSE_LABEL],
            [
                ("spec.job.spec.template.spec.dnsConfig.searches", CAUSE_INVALID["message"]),
                ("spec.job.metadata.labels", CAUSE_LABEL["message"]),
            ],
            id="one-error-per-field",
        ),
        pytest.param(
            [CAUSE_INVALID, CAUSE_POLICY],
            [
                ("spec.job.spec.template.spec.dnsConfig.searches", CAUSE_INVALID["message"]),
                ("spec.job", CAUSE_POLICY["message"]),
            ],
            id="fieldless-cause-on-spec-job",
        ),
        pytest.param([CAUSE_POLICY], [("spec.job", "the whole message")], id="no-field-at-all"),
        pytest.param([], [("spec.job", "the whole message")], id="no-causes"),
    ],
)
def test_causes_are_reported_at_their_fields(
    apiserver: StubApiserver, causes: list[dict[str, str]], expected: list[tuple[str, str]]
) -> None:
    apiserver.status = 422
    apiserver.body = {
        **_status(422, "Invalid", "the whole message"),
        "details": {"kind": "Job", "causes": causes},
    }
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=2).check(example(), "ns")
    )
    assert [(e.path, e.message) for e in verdict.errors] == [
        (path, f"{REFUSED}: {message}") for path, message in expected
    ]


def test_name_clash_of_the_placeholder_job_is_not_an_error(apiserver: StubApiserver) -> None:
    apiserver.status = 409
    apiserver.body = _status(409, "AlreadyExists", "jobs.batch already exists")
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=2).check(example(), "ns")
    )
    assert verdict.errors == []
    assert verdict.warnings == []


@pytest.mark.parametrize(("status", "reason"), [(500, "InternalError"), (429, "TooManyRequests")])
def test_unavailable_apiserver_is_a_warning(
    apiserver: StubApiserver, status: int, reason: str
) -> None:
    apiserver.status = status
    apiserver.body = _status(status, reason, "try again")
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=2).check(example(), "ns")
    )
    assert verdict.errors == []
    assert "skipped" in verdict.warnings[0]


def test_slow_apiserver_is_cut_at_the_deadline(apiserver: StubApiserver) -> None:
    apiserver.delay = 8  # far beyond the deadline: waiting for it would be the bug
    started = time.monotonic()
    verdict = asyncio.run(
        DryRun(_api(apiserver.server_address[1]), timeout=0.5).check(example(), "ns")
    )
    assert time.monotonic() - started < 6
    assert verdict.errors == []
    assert "skipped" in verdict.warnings[0]


def test_unreachable_apiserver_is_a_warning() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    verdict = asyncio.run(DryRun(_api(port), timeout=1).check(example(), "ns"))
    assert verdict.errors == []
    assert "skipped" in verdict.warnings[0]
