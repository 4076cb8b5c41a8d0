"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams.

Each of ``concurrency`` workers keeps one keep-alive connection and sends its next request as soon
as the previous answer is in. A 429 or 5xx is retried (honouring ``Retry-After``), as a CloudEvents
sender would, so the result counts events delivered, not requests sent. Raw streams instead of an
HTTP client library: the generator must not be the bottleneck, and ``capacity`` measures that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Request = Callable[[int], bytes]
"""Index of the event -> the complete request bytes (request line, headers, body)."""


@dataclass
class Result:
    sent: int = 0
    retries: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def merge(self, other: Result) -> None:
        """Add another run's counts and time (for runs made in rounds)."""
        self.sent += other.sent
        self.retries += other.retries
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.bodies += other.bodies
        for status, number in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + number

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def _worker(
    host: str, port: int, request: Request, queue: list[int], result: Result, keep: bool
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while queue:
            index = queue.pop()
            payload = request(index)
            started = time.perf_counter()
            while True:
                writer.write(payload)
                status, headers, body = await _answer(reader)
                if headers.get("connection") == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                if status == 429 or status >= 500:
                    result.retries += 1
                    await asyncio.sleep(float(headers.get("retry-after", "1")))
                    continue
                break
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.sent += 1
            if keep:
                result.bodies.append(body)
    finally:
        writer.close()


async def run(
    host: str, port: int, request: Request, count: int, concurrency: int, keep_bodies: bool = False
) -> Result:
    """Send ``count`` requests (indices 0..count-1) with ``concurrency`` connections."""
    queue = list(range(count - 1, -1, -1))
    result = Result()
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(host, port, request, queue, result, keep_bodies) for _ in range(concurrency))
    )
    result.seconds = time.perf_counter() - started
    return result


def get(path: str) -> Request:
    data = f"GET {path} HTTP/1.1\r\nhost: bench\r\n\r\n".encode()
    return lambda _: data


def post(path: str, headers: Callable[[int], dict[str, str]], body: bytes) -> Request:
    def build(index: int) -> bytes:
        lines = [f"POST {path} HTTP/1.1", "host: bench", f"content-length: {len(body)}"]
        lines += [f"{key}: {value}" for key, value in headers(index).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    return build
