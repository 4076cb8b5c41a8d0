"""The FastAPI app: decode an AdmissionReview, call the pure admission functions, encode the answer.

HTTP statuses are for requests that are not reviews at all (400 malformed JSON or envelope, 413 too
large, 415 not JSON); a review nested too deeply is still read as a review (``webhook.jsonbody``).
Anything that goes wrong while judging a well-formed review is answered as a review
(``allowed: false``, code 500), because that is the only answer the apiserver shows its user.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import ClientDisconnect

from jobsink import admission
from jobsink.reviews import RequestReview, ResponseReview
from webhook import jsonbody
from webhook.metrics import Metrics

if TYPE_CHECKING:  # the dry-run pulls in the Kubernetes client, needed only when enabled
    from webhook.dryrun import DryRun

log = logging.getLogger(__name__)

Judge = Callable[[RequestReview], ResponseReview]


class Rejected(Exception):
    """A request that is not a review: answered with a plain HTTP error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _plain(status: int, message: str) -> Response:
    return JSONResponse({"code": status, "message": message}, status_code=status)


async def _read_json(request: Request, limit: int) -> Any:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise Rejected(415, f"content-type: expected application/json, got {media_type!r}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body: {declared} bytes exceed the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body: more than {limit} bytes")
        chunks.append(chunk)
    try:
        return jsonbody.loads(b"".join(chunks))
    except jsonbody.TooDeep as error:
        raise Rejected(400, f"body: {error}") from error
    except ValueError as error:  # UnicodeDecodeError included
        raise Rejected(400, f"body: malformed JSON: {error}") from error


def _result(answer: ResponseReview) -> str:
    response = answer["response"]
    if response["allowed"]:
        return "patched" if "patch" in response else "allowed"
    return "error" if response.get("status", {}).get("code") == 500 else "denied"


def create_app(
    *,
    max_body_bytes: int,
    ready: Callable[[], bool],
    dry_run: DryRun | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    app = FastAPI(title="jobsink webhook", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.metrics = metrics = metrics or Metrics()
    metrics.include_process_metrics()

    async def judged(endpoint: str, judge: Judge, request: Request) -> Response:
        started = time.perf_counter()
        operation, uid = "unknown", ""
        review: Any = {}
        try:
            review = admission.parse_review(await _read_json(request, max_body_bytes))
            operation, uid = review["request"]["operation"], review["request"]["uid"]
            answer = judge(review)
            if endpoint == "validation" and dry_run is not None:
                answer = await _cluster_check(review, answer, dry_run, metrics)
        except Rejected as rejected:
            metrics.reviews.labels(endpoint, operation, "invalid_request").inc()
            log.info("request rejected", extra={"endpoint": endpoint, "error": str(rejected)})
            return _plain(rejected.status, str(rejected))
        except admission.ReviewError as error:
            metrics.reviews.labels(endpoint, operation, "invalid_request").inc()
            log.info("request rejected", extra={"endpoint": endpoint, "error": str(error)})
            return _plain(400, str(error))
        except ClientDisconnect:
            # Gone before its body arrived (or cut off by the server's read deadline): there is
            # no one to answer.
            metrics.reviews.labels(endpoint, operation, "invalid_request").inc()
            log.info("request abandoned", extra={"endpoint": endpoint})
            return _plain(400, "body: the client went away before sending it")
        except Exception as error:  # a bug must still produce an answer the apiserver can show
            log.exception("admission failed", extra={"endpoint": endpoint, "uid": uid})
            answer = admission.errored(review, uid, f"{type(error).__name__}: {error}")
        result = _result(answer)
        metrics.reviews.labels(endpoint, operation, result).inc()
        elapsed = time.perf_counter() - started
        metrics.latency.labels(endpoint).observe(elapsed)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "review answered",
                extra={
                    "endpoint": endpoint,
                    "uid": uid,
                    "operation": operation,
                    "result": result,
                    "seconds": round(elapsed, 6),
                },
            )
        if result != "allowed" and result != "patched":
            log.info(
                "review denied",
                # "message" is reserved by LogRecord: passing the status dict as is raised KeyError.
                extra={
                    "endpoint": endpoint,
                    "uid": uid,
                    **{f"status_{k}": v for k, v in answer["response"].get("status", {}).items()},
                },
            )
        body = json.dumps(answer, separators=(",", ":")).encode()
        return Response(body, media_type="application/json")

    @app.post("/defaulting")
    async def defaulting(request: Request) -> Response:
        return await judged("defaulting", admission.defaulting_review, request)

    @app.post("/validation")
    async def validation(request: Request) -> Response:
        return await judged("validation", admission.validation_review, request)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _plain(200, "ok")

    @app.get("/readyz")
    async def readyz() -> Response:
        return _plain(200, "ok") if ready() else _plain(503, "no serving certificate yet")

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _cluster_check(
    review: RequestReview, answer: ResponseReview, dry_run: DryRun, metrics: Metrics
) -> ResponseReview:
    """Run the dry-run only on what local validation let through; merge its verdict in."""
    response = answer["response"]
    if not response["allowed"] or not admission.needs_cluster_check(review):
        return answer
    request = review["request"]
    sink: dict[str, Any] = request["object"]
    namespace = request.get("namespace") or sink.get("metadata", {}).get("namespace") or "default"
    verdict = await dry_run.check(sink, namespace)
    outcome = "refused" if verdict.errors else "skipped" if verdict.warnings else "accepted"
    metrics.dry_runs.labels(outcome).inc()
    if verdict.errors:
        name = admission.object_name(sink)
        return admission.respond(review, admission.invalid(request["uid"], name, verdict.errors))
    if verdict.warnings:
        response["warnings"] = [*response.get("warnings", []), *verdict.warnings]
    return answer
