"""The webhook's ASGI app: decode an AdmissionReview, call the pure admission functions, answer.

HTTP statuses are for requests that are not reviews at all (400 malformed JSON or envelope, 413 too
large, 415 not JSON); a review nested too deeply is still read as a review (``webhook.jsonbody``).
Anything that goes wrong while judging a well-formed review is answered as a review
(``allowed: false``, code 500), because that is the only answer the apiserver shows its user.

``POST /defaulting`` and ``POST /validation`` are served as plain ASGI (``webhook.asgi``: the
framework's layers were a fifth of a review's time); everything else (the probes, ``/metrics``,
404 and 405 answers) is a FastAPI app behind them, reachable as ``AdmissionApp.probes``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from jobsink import admission
from jobsink.reviews import RequestReview, ResponseReview
from webhook import jsonbody
from webhook.asgi import Rejected, encode, plain_body, read_json_body, send_json
from webhook.metrics import Metrics

if TYPE_CHECKING:  # the dry-run pulls in the Kubernetes client, needed only when enabled
    from webhook.dryrun import DryRun

log = logging.getLogger(__name__)

Judge = Callable[[RequestReview], ResponseReview]

#: Path -> the name of the endpoint (its metrics label) and of its judge in ``jobsink.admission``
#: (looked up per request, so a test can replace one).
ROUTES = {
    "/defaulting": ("defaulting", "defaulting_review"),
    "/validation": ("validation", "validation_review"),
}


def _plain(status: int, message: str) -> Response:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def _decode(body: bytes) -> Any:
    try:
        return jsonbody.loads(body)
    except jsonbody.TooDeep as error:
        raise Rejected(400, f"body: {error}") from error
    except ValueError as error:  # UnicodeDecodeError included
        raise Rejected(400, f"body: malformed JSON: {error}") from error


def _result(answer: ResponseReview) -> str:
    response = answer["response"]
    if response["allowed"]:
        return "patched" if "patch" in response else "allowed"
    return "error" if response.get("status", {}).get("code") == 500 else "denied"


class AdmissionApp:
    """The webhook's ASGI application: the admission routes, then ``probes`` for the rest."""

    def __init__(
        self, probes: FastAPI, *, max_body_bytes: int, metrics: Metrics, dry_run: DryRun | None
    ) -> None:
        self.probes = probes
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.dry_run = dry_run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.probes(scope, receive, send)
            return
        endpoint, judge = route
        status, body = await self.judged(endpoint, getattr(admission, judge), scope, receive)
        await send_json(send, status, body)

    async def judged(
        self, endpoint: str, judge: Judge, scope: Scope, receive: Receive
    ) -> tuple[int, bytes]:
        """The HTTP status and body answering one request to ``endpoint``."""
        metrics = self.metrics
        started = time.perf_counter()
        operation, uid = "unknown", ""
        review: Any = {}
        try:
            body = await read_json_body(scope, receive, self.max_body_bytes)
            review = admission.parse_review(_decode(body))
            operation, uid = review["request"]["operation"], review["request"]["uid"]
            answer = judge(review)
            if endpoint == "validation" and self.dry_run is not None:
                answer = await _cluster_check(review, answer, self.dry_run, metrics)
        except Rejected as rejected:
            metrics.count_review(endpoint, operation, "invalid_request")
            log.info("request rejected", extra={"endpoint": endpoint, "error": str(rejected)})
            return rejected.status, plain_body(rejected.status, str(rejected))
        except admission.ReviewError as error:
            metrics.count_review(endpoint, operation, "invalid_request")
            log.info("request rejected", extra={"endpoint": endpoint, "error": str(error)})
            return 400, plain_body(400, str(error))
        except ClientDisconnect:
            # Gone before its body arrived (or cut off by the server's read deadline): there is
            # no one to answer.
            metrics.count_review(endpoint, operation, "invalid_request")
            log.info("request abandoned", extra={"endpoint": endpoint})
            return 400, plain_body(400, "body: the client went away before sending it")
        except Exception as error:  # a bug must still produce an answer the apiserver can show
            log.exception("admission failed", extra={"endpoint": endpoint, "uid": uid})
            answer = admission.errored(review, uid, f"{type(error).__name__}: {error}")
        result = _result(answer)
        metrics.count_review(endpoint, operation, result)
        elapsed = time.perf_counter() - started
        metrics.observe_latency(endpoint, elapsed)
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
        return 200, encode(answer)


def create_app(
    *,
    max_body_bytes: int,
    ready: Callable[[], bool],
    dry_run: DryRun | None = None,
    metrics: Metrics | None = None,
) -> AdmissionApp:
    probes = FastAPI(title="jobsink webhook", docs_url=None, redoc_url=None, openapi_url=None)
    probes.state.metrics = metrics = metrics or Metrics()
    metrics.include_process_metrics()

    # Declared for their 405 answer to other methods; POSTs never reach them (AdmissionApp).
    @probes.post("/defaulting")
    @probes.post("/validation")
    async def admission_route() -> Response:
        return _plain(500, "served by AdmissionApp")

    @probes.get("/healthz")
    async def healthz() -> Response:
        return _plain(200, "ok")

    @probes.get("/readyz")
    async def readyz() -> Response:
        return _plain(200, "ok") if ready() else _plain(503, "no serving certificate yet")

    @probes.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return AdmissionApp(probes, max_body_bytes=max_body_bytes, metrics=metrics, dry_run=dry_run)


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
