"""The plain-HTTP listener when ``transport_encryption`` is strict: events are refused there.

Probes and ``/metrics`` still answer (the kubelet probes over HTTP); every other request gets
404 with a JSON body naming the HTTPS URL to use instead. 404 is what Knative's receivers answer
on the listener a mode turns off: senders and Knative's dispatchers retry a 404, so events sent
while a mode change rolls out are delivered once the sender reads the new address.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from receiver.asgi import PROBES

STATUS = 404


def refusal(https_base: str, path: str) -> JSONResponse:
    """The answer to a request for ``path`` over plain HTTP."""
    url = https_base.rstrip("/") + path
    return JSONResponse(
        {
            "error": "this receiver accepts events over HTTPS only (transport-encryption is "
            f"strict): send to {url}",
            "url": url,
        },
        status_code=STATUS,
    )


class HttpsOnly:
    """Wraps the app served on the plain-HTTP listener; lifespan and probes pass through."""

    def __init__(self, app: ASGIApp, https_base: str) -> None:
        self.app = app
        self.https_base = https_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        await refusal(self.https_base, scope["path"])(scope, receive, send)
