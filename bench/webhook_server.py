"""The webhook as ``jobsink webhook`` serves it, plus ``POST /echo`` (the benchmark's floor).

The echo route runs on the same process, TLS context, uvicorn + uvloop + httptools stack and
ASGI app as the admission routes, as a FastAPI route behind them (where the probes are, and where
the admission routes were before they became plain ASGI); it only returns the body it read.
``POST /echo-asgi`` does the same as plain ASGI, the way the admission routes are served: the
floor of the transport alone. Dry-run is off: the benchmark measures the webhook, not an
apiserver round trip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from webhook import logs, server
from webhook.asgi import read_json_body, send_json
from webhook.settings import Settings

LIMIT = 4 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert", type=Path, required=True)
    parser.add_argument("--tls-key", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(
        host="127.0.0.1",
        port=args.port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        dry_run=False,
        log_level="warning",
    )
    logs.configure(settings.log_level)
    webhook = server.build(settings)

    @webhook.app.probes.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/json")

    admission = webhook.app

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/echo-asgi":
            await send_json(send, 200, await read_json_body(scope, receive, LIMIT))
        else:
            await admission(scope, receive, send)

    webhook.app = app  # type: ignore[assignment]  # any ASGI app serves

    server.run(webhook)


if __name__ == "__main__":
    main()
