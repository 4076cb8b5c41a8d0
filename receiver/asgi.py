"""The receiver's ASGI application: the lifespan, the three probes, and every other request
straight to the data plane.

No web framework: a framework's routing, middleware and exception layers ran on every event
(about a fifth of the event loop's CPU in a profile under load), and importing FastAPI took
8 MB. The probes answer as FastAPI answered them (``tests/receiver/test_answer_bytes.py``
holds the bytes): GET only, anything else 405 ``{"detail":"Method Not Allowed"}`` with
``Allow: GET``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from receiver.certificates import ServingCertificates
from receiver.dataplane.handler import DataPlane
from receiver.metrics import exposition

log = logging.getLogger("jobsink.receiver")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
PROBE_METHODS = ("GET",)


class Background(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


class ReceiverApp:
    """``certificates``: the HTTPS listener's; the receiver is not ready until it listens.
    ``background`` starts with the lifespan and stops after the last in-flight request."""

    def __init__(
        self,
        plane: DataPlane,
        background: Sequence[Background] = (),
        certificates: ServingCertificates | None = None,
    ) -> None:
        self.plane = plane
        self.background = background
        self.certificates = certificates
        plane.metrics.include_process_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"] in PROBES:
                await self.probe(scope)(scope, receive, send)
                return
            response = await self.plane.handle(Request(scope, receive))
            await response(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    def probe(self, scope: Scope) -> Response:
        if scope["method"] not in PROBE_METHODS:
            return JSONResponse(
                {"detail": "Method Not Allowed"},
                status_code=405,
                headers={"Allow": ", ".join(PROBE_METHODS)},
            )
        path = scope["path"]
        if path == "/healthz":
            return JSONResponse({"status": "ok"})
        if path == "/metrics":
            return Response(exposition(self.plane.metrics), media_type=CONTENT_TYPE_LATEST)
        return self.readiness()

    def readiness(self) -> JSONResponse:
        plane, certificates = self.plane, self.certificates
        certified = certificates is None or certificates.listening
        if plane.ready and certified:
            return JSONResponse({"status": "ready"})
        reason = (
            "draining"
            if plane.draining
            else "JobSink cache not synced yet"
            if not plane.ready
            else "HTTPS listener not started: no serving certificate yet"
        )
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol: start the parts, and stop them at the server's end."""
        started = False
        await receive()  # lifespan.startup
        try:
            for part in self.background:
                part.start()
            started = True
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            self.plane.draining = True
            await self.plane.drain()
            self.stop()
        except BaseException:
            failed = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": failed, "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    def stop(self) -> None:
        # uvicorn shuts the lifespan down after in-flight requests have finished; the lifespan
        # has waited for their deliveries and worker threads (``drain``) before the parts stop.
        plane = self.plane
        plane.draining = True
        plane.pool.shutdown(wait=True)
        for part in reversed(self.background):
            part.stop()
