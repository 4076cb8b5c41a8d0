"""The webhook as ``jobsink webhook`` serves it, plus ``POST /echo`` (the benchmark's floor).

The echo route runs on the same process, TLS context, uvicorn + uvloop + httptools stack and
FastAPI app as the admission routes; it only returns the body it read. Dry-run is off: the
benchmark measures the webhook, not an apiserver round trip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from webhook import logs, server
from webhook.settings import Settings


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

    @webhook.app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/json")

    server.run(webhook)


if __name__ == "__main__":
    main()
