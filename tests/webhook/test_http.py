"""The webhook over real HTTPS: uvicorn + uvloop + httptools on a loopback port, our TLS context.

Covers the malformed-input matrix (each answer keeps the connection usable), the review answers,
health, readiness and metrics, and certificate verification against the generated CA.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certs.authority import CertificateAuthority
from jobsink import admission
from tests.webhook.reviews import example, review
from tests.webhook.serving import Running, serving

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(tmp_path_factory.mktemp("certs"), max_body_bytes=LIMIT) as server:
        yield server


@pytest.fixture
def client(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, verify=running.client_context(), timeout=10) as c:
        yield c


def _post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


# --- answers -----------------------------------------------------------------------------------


def test_defaulting_answers_with_a_patch(client: httpx.Client) -> None:
    request = review(example())
    answer = _post(client, "/defaulting", request).json()
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == request["request"]["uid"]
    assert response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    assert ops[0]["value"] == [{"name": "K_EXECUTION_MODE", "value": "batch"}]


def test_validation_denies_with_422_and_field_paths(client: httpx.Client) -> None:
    sink = example()
    sink["spec"]["job"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    response = _post(client, "/validation", review(sink))
    assert response.status_code == 200  # a denial is an answer, not an HTTP error
    status = response.json()["response"]["status"]
    assert status["code"] == 422
    assert "spec.job.spec.template.spec.restartPolicy" in status["message"]


def test_dry_run_requests_are_answered_the_same(client: httpx.Client) -> None:
    answer = _post(client, "/validation", review(example(), dry_run=True)).json()
    assert answer["response"]["allowed"] is True


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/defaulting", "/validation"])
@pytest.mark.parametrize(
    ("content", "headers", "status", "fragment"),
    [
        pytest.param(b"{not json", {"content-type": "application/json"}, 400, "malformed JSON",
                     id="malformed-json"),
        pytest.param(b"\xff\xfe\x00", {"content-type": "application/json"}, 400, "malformed JSON",
                     id="not-utf8"),
        pytest.param(b"", {"content-type": "application/json"}, 400, "malformed JSON", id="empty"),
        pytest.param(b"[]", {"content-type": "application/json"}, 400, "expected a JSON object",
                     id="array"),
        pytest.param(b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
                     {"content-type": "application/json"}, 400, "request: missing",
                     id="no-request"),
        pytest.param(b"{}", {"content-type": "text/plain"}, 415, "content-type", id="text-plain"),
        pytest.param(b"{}", {"content-type": "application/yaml"}, 415, "content-type", id="yaml"),
        pytest.param(b"{}", {}, 415, "content-type", id="no-content-type"),
        pytest.param(b" " * (LIMIT + 1), {"content-type": "application/json"}, 413, "limit",
                     id="over-limit"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_status_and_keeps_the_connection(
    client: httpx.Client,
    path: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    fragment: str,
) -> None:
    response = client.post(path, content=content, headers=headers)
    assert response.status_code == status
    assert fragment in response.json()["message"]
    # The same client (same keep-alive connection when the server kept it) still works.
    assert _post(client, path, review(example())).json()["response"]["allowed"] is True


def test_content_type_with_charset_is_json(client: httpx.Client) -> None:
    response = client.post(
        "/validation",
        content=json.dumps(review(example())),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_chunked_body_over_limit_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 1024 + 2):
            yield b" " * 1024

    response = client.post(
        "/validation", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_handler_exception_is_a_500_review_logged_with_the_uid(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_review: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(admission, "validation_review", broken)
    request = review(example(), uid="uid-of-the-failing-review")
    with caplog.at_level(logging.ERROR, logger="webhook.app"):
        response = _post(client, "/validation", request)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response"]["uid"] == "uid-of-the-failing-review"
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["code"] == 500
    assert "KeyError" in answer["response"]["status"]["message"]
    assert any(getattr(r, "uid", None) == "uid-of-the-failing-review" for r in caplog.records)


def test_unknown_path_and_method(client: httpx.Client) -> None:
    assert client.post("/mutate", json={}).status_code == 404
    assert client.get("/validation").status_code == 405


# --- health, readiness, metrics ----------------------------------------------------------------


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_metrics_count_reviews_by_endpoint_operation_and_result(client: httpx.Client) -> None:
    _post(client, "/defaulting", review(example()))
    _post(client, "/validation", review(None, operation="DELETE"))
    client.post("/validation", content=b"{", headers={"content-type": "application/json"})
    text = client.get("/metrics").text
    assert (
        'jobsink_webhook_reviews_total{endpoint="defaulting",operation="CREATE",result="patched"}'
        in text
    )
    assert (
        'jobsink_webhook_reviews_total{endpoint="validation",operation="DELETE",result="allowed"}'
        in text
    )
    assert 'result="invalid_request"' in text
    assert (
        'jobsink_webhook_review_duration_seconds_bucket{endpoint="defaulting",le="0.005"}' in text
    )


def test_metrics_show_the_process_too(client: httpx.Client) -> None:
    lines = client.get("/metrics").text.splitlines()
    served = {line.split()[2] for line in lines if line.startswith("# TYPE ")}
    process = {"process_cpu_seconds_total", "process_open_fds", "python_info"}
    assert process <= served


# --- TLS ---------------------------------------------------------------------------------------


def _handshake(port: int, context: ssl.SSLContext) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert(binary_form=True)
        assert cert is not None
        assert tls.selected_alpn_protocol() in (None, "http/1.1")
        return cert


def test_certificate_verifies_against_the_generated_ca(running: Running) -> None:
    served = _handshake(running.port, running.client_context())
    on_disk = ssl.PEM_cert_to_DER_cert((running.cert_dir / "tls.crt").read_text())
    assert served == on_disk


def test_another_ca_is_rejected(running: Running) -> None:
    stranger = CertificateAuthority.create()
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(running.port, running.client_context(stranger.cert_pem))
    with (
        httpx.Client(verify=running.client_context(stranger.cert_pem)) as c,
        pytest.raises(httpx.ConnectError),
    ):
        c.get(f"{running.url}/healthz")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_old_tls_versions_are_refused(running: Running) -> None:
    context = running.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.minimum_version = ssl.TLSVersion.TLSv1
    with pytest.raises(ssl.SSLError):
        _handshake(running.port, context)


def test_missing_cert_files_fail_at_start(tmp_path: Path) -> None:
    from webhook.server import build
    from webhook.settings import Settings

    settings = Settings(
        tls_cert=tmp_path / "nope.crt", tls_key=tmp_path / "nope.key", dry_run=False
    )
    with pytest.raises(FileNotFoundError):
        build(settings)


def test_over_the_concurrency_limit_answers_503(tmp_path: Path) -> None:
    with serving(tmp_path, max_concurrency=2) as server:
        context = server.client_context()
        with (
            httpx.Client(base_url=server.url, verify=context) as first,
            httpx.Client(base_url=server.url, verify=context) as second,
        ):
            assert first.get("/healthz").status_code == 200  # one connection, kept alive
            assert second.get("/healthz").status_code == 503
