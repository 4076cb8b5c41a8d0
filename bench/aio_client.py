"""The event loop's HTTP client, ``kubeapi.aio``, beside aiohttp's ``ClientSession``: the client
process's CPU per GET over kept-alive loopback TLS connections, one request at a time and 50 at
once, on uvloop as in the receiver.

The server is uvicorn in another process answering a small JSON body (about the size of the
metadata answers the write protocol reads), so only the client's CPU is counted here.

Usage: ``python bench/aio_client.py [--requests 3000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from certs.authority import CertificateAuthority  # noqa: E402
from kubeapi.aio import AsyncPool  # noqa: E402

ANSWER = b'{"kind":"PartialObjectMetadata","metadata":{"name":"x","uid":"' + b"u" * 36 + b'"}}'
SERVER = f"""
import uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]}})
    await send({{"type": "http.response.body", "body": {ANSWER!r}}})
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="error",
            ssl_certfile=__import__("sys").argv[2], ssl_keyfile=__import__("sys").argv[3],
            loop="uvloop", http="httptools", access_log=False)
"""

Get = Callable[[], Awaitable[bytes]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def cpu_per_request(get: Get, requests: int, concurrency: int) -> float:
    """Microseconds of this process's CPU per request (after a first pass makes the
    connections)."""

    async def all_of(count: int) -> None:
        turns = iter(range(count))

        async def worker() -> None:
            for _ in turns:
                assert await get() == ANSWER

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    await all_of(requests)
    started = time.process_time()
    await all_of(requests)
    return (time.process_time() - started) / requests * 1e6


async def measure(
    port: int, context: ssl.SSLContext, requests: int, concurrency: int
) -> dict[str, float]:
    pool = AsyncPool("127.0.0.1", port, authority=f"127.0.0.1:{port}", context=context, size=64)

    async def ours() -> bytes:
        return (await pool.request("GET", "/x", {"Accept": "application/json"}, None)).data

    connector = aiohttp.TCPConnector(ssl=context, limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def theirs() -> bytes:
            async with session.get(f"https://127.0.0.1:{port}/x") as answer:
                return await answer.read()

        return {
            "kubeapi.aio": await cpu_per_request(ours, requests, concurrency),
            "aiohttp": await cpu_per_request(theirs, requests, concurrency),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    authority = CertificateAuthority.create()
    pair = authority.issue_server(ips=["127.0.0.1"])
    with tempfile.TemporaryDirectory() as directory:
        cert, key = Path(directory, "tls.crt"), Path(directory, "tls.key")
        cert.write_bytes(pair.cert_pem)
        key.write_bytes(pair.key_pem)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(cert), str(key)])
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            context = ssl.create_default_context(cadata=authority.cert_pem.decode())
            for concurrency in (1, 50):
                for round_ in range(arguments.rounds):
                    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                        figures = runner.run(
                            measure(port, context, arguments.requests, concurrency)
                        )
                    shown = ", ".join(f"{name} {value:.0f} µs" for name, value in figures.items())
                    print(f"concurrency {concurrency}, round {round_ + 1}: CPU per GET: {shown}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
