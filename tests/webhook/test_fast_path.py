"""The plain-ASGI admission routes and the orjson decoder answer as the framework and ``json`` did.

``AdmissionApp`` is called as uvicorn calls it (one ``http.request`` message per body chunk) and
its answer is compared with what the FastAPI routes produced: for a review, the admission
function's answer on the body as ``json.loads`` reads it; for a request that is no review,
Starlette's ``JSONResponse`` of ``{"code", "message"}``, byte for byte, headers included.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.responses import JSONResponse

from jobsink import admission
from tests.webhook.reviews import EXAMPLES, example, pod_spec, review
from webhook import jsonbody
from webhook.app import create_app

LIMIT = 64 * 1024
JSON = {"content-type": "application/json"}
REVIEW = json.dumps(review(example())).encode()


def _call(
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    chunk: int = 0,
    gone: bool = False,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``gone``: the client leaves after the body's first message."""
    app = create_app(max_body_bytes=LIMIT, ready=lambda: True)
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    pieces = pieces or [b""]
    messages = [
        {"type": "http.request", "body": piece, "more_body": gone or i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 443),
    }
    asyncio.run(app(scope, receive, send))
    start, body_message = sent[0], sent[1]
    return start["status"], list(start["headers"]), body_message["body"]


def _sinks() -> list[Any]:
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "invalid").glob("*.yaml"))
    return [pytest.param(yaml.safe_load(f.read_text()), id=f.stem) for f in files]


def _with_namespace(sink: dict[str, Any]) -> dict[str, Any]:
    sink["metadata"]["namespace"] = "default"
    return sink


def _float_cpu(sink: dict[str, Any]) -> dict[str, Any]:
    pod_spec(sink)["containers"][0]["resources"] = {"limits": {"cpu": 0.25, "memory": "64Mi"}}
    return sink


def _unicode(sink: dict[str, Any]) -> dict[str, Any]:
    pod_spec(sink)["containers"][0]["name"] = "größe-✓"  # refused, and quoted in the message
    return sink


def _reviews() -> list[Any]:
    cases = [
        pytest.param(review(_with_namespace(s.values[0])), id=f"create-{s.id}") for s in _sinks()
    ]
    sink = example()
    changed = example()
    pod_spec(changed)["restartPolicy"] = "OnFailure"
    cases += [
        pytest.param(review(sink, operation="UPDATE", old=sink), id="update-unchanged-spec"),
        pytest.param(review(changed, operation="UPDATE", old=sink), id="update-changed-spec"),
        pytest.param(review(None, operation="DELETE"), id="delete"),
        pytest.param(review({"kind": "Pod"}), id="not-a-jobsink"),
        pytest.param(review(_float_cpu(example())), id="fractional-cpu"),
        pytest.param(review(_unicode(example())), id="non-ascii-name"),
        pytest.param(review(example(), dry_run=True), id="dry-run"),
    ]
    return cases


@pytest.mark.parametrize("path", ["/defaulting", "/validation"])
@pytest.mark.parametrize("request_review", _reviews())
@pytest.mark.parametrize("chunk", [0, 1000])
def test_reviews_are_answered_as_the_admission_functions_answer(
    path: str, request_review: dict[str, Any], chunk: int
) -> None:
    body = json.dumps(request_review).encode()
    status, headers, answer = _call(path, body, JSON, chunk=chunk)
    judge = admission.defaulting_review if path == "/defaulting" else admission.validation_review
    expected = judge(admission.parse_review(json.loads(body)))
    assert status == 200
    assert headers == [
        (b"content-length", str(len(answer)).encode()),
        (b"content-type", b"application/json"),
    ]
    assert json.loads(answer) == json.loads(json.dumps(expected))


@pytest.mark.parametrize("path", ["/defaulting", "/validation"])
@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"{not json", JSON, 400, None),
        (b"\xff\xfe\x00", JSON, 400, None),
        (b"", JSON, 400, None),
        (b"[]", JSON, 400, "body: expected a JSON object (an AdmissionReview)"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', JSON, 400,
         "request: missing or not an object"),
        (b"{}", {"content-type": "text/plain"}, 415,
         "content-type: expected application/json, got 'text/plain'"),
        (b"{}", {}, 415, "content-type: expected application/json, got ''"),
        (b"{}", {"content-type": "application/json", "content-length": str(LIMIT + 1)}, 413,
         f"body: {LIMIT + 1} bytes exceed the limit of {LIMIT}"),
        (b" " * (LIMIT + 1), JSON, 413, f"body: more than {LIMIT} bytes"),
    ],
)  # fmt: skip
def test_requests_that_are_no_review_get_starlettes_answer_byte_for_byte(
    path: str, body: bytes, headers: dict[str, str], status: int, message: str | None
) -> None:
    got_status, got_headers, answer = _call(path, body, headers, chunk=4096)
    if message is None:  # the decoder's own words, as json.loads says them
        try:
            json.loads(body)
        except ValueError as error:
            message = f"body: malformed JSON: {error}"
    expected = JSONResponse({"code": status, "message": message}, status_code=status)
    assert (got_status, answer) == (status, expected.body)
    assert got_headers == expected.raw_headers


def test_a_client_gone_before_its_body_arrived_is_answered_as_before() -> None:
    # A first chunk, then the disconnect instead of the rest.
    status, _, answer = _call("/validation", REVIEW[:100], JSON, gone=True)
    expected = JSONResponse(
        {"code": 400, "message": "body: the client went away before sending it"}, status_code=400
    )
    assert (status, answer) == (400, expected.body)


def test_other_methods_and_paths_still_reach_the_framework() -> None:
    assert _call("/validation", b"", {}, method="GET")[0] == 405
    assert _call("/mutate", b"{}", JSON)[0] == 404
    assert _call("/healthz", b"", {}, method="GET")[0] == 200


def _reference(body: bytes) -> Any:
    """What ``jsonbody.loads`` returned before orjson: ``json.loads``, pruned when too deep."""
    try:
        return json.loads(body)
    except RecursionError:
        return json.loads(jsonbody.pruned(body, jsonbody.KEPT_DEPTH))


def _same(a: Any, b: Any) -> bool:
    """Equal, types included (1 is not 1.0 here), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(
    "body",
    [
        REVIEW,
        b'{"a":1,"a":2}',
        b"[1.0, 1, -0, -0.0, 1e5, 1E-5, 5e-324, 2.5e-324, 1.7976931348623157e308]",
        b"[9223372036854775807, -9223372036854775808, 18446744073709551615]",
        b"[18446744073709551616, -9223372036854775809, 123456789012345678901234567890]",
        b'{"annotation":"1234567890123456789012"}',  # a long digit run in a string: json decides
        b"[1e400, -1e400]",
        b"[NaN, Infinity, -Infinity]",
        b'["\\ud800", "\\udc00x", "\\ud83d\\ude00"]',
        b"\xef\xbb\xbf{}",
        '{"utf16": true}'.encode("utf-16"),
        b'{"tab":"a\tb"}',
        b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8
        b"[" * 100 + b"]" * 100,
        b"[" * 2000 + b"]" * 2000,
    ],
    ids=lambda body: body[:24].decode("latin-1"),
)
def test_bodies_decode_to_what_json_loads_gave(body: bytes) -> None:
    try:
        expected = _reference(body)
    except ValueError as error:
        with pytest.raises(type(error)):
            jsonbody.loads(body)
        return
    assert _same(jsonbody.loads(body), expected)


def test_a_body_orjson_nests_deeper_than_json_is_answered_the_same() -> None:
    """orjson decodes up to 1,024 levels, where ``json.loads`` gave up at about 950 and the body
    was pruned: the value differs beyond level ``KEPT_DEPTH``, the answer does not."""
    request = review(example())
    pod_spec(request["request"]["object"])["containers"][0]["unknownField"] = {"x": 1}
    depth = 1000
    body = (
        json.dumps(request)
        .encode()
        .replace(
            b'"unknownField": {"x": 1}',
            b'"unknownField": ' + b'{"x": ' * depth + b"1" + b"}" * depth,
        )
    )
    for path, judge in (("/validation", admission.validation_review),
                        ("/defaulting", admission.defaulting_review)):  # fmt: skip
        _, _, answer = _call(path, body, JSON)
        expected = judge(admission.parse_review(_reference(body)))
        assert json.loads(answer) == json.loads(json.dumps(expected))


def test_the_example_files_are_all_covered() -> None:
    assert len(_sinks()) == len(list(Path(EXAMPLES).rglob("*.yaml")))
