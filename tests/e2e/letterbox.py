"""A dead-letter sink for the tests: a real HTTP server on loopback that keeps what it is sent.

Each POST is recorded (headers and body), then answered by the scenario's ``answer`` function:
a status code of its own, or the answer of forwarding the request to another URL (a JobSink's
receiver), which is how a test stands between the dispatcher and a real dead-letter JobSink.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from controlplane.ports import LOOPBACK


@dataclass(frozen=True)
class Letter:
    headers: dict[str, str]
    body: bytes


Answer = Callable[[int, Letter], int]
"""(1-based number of this request, the letter) -> the HTTP status to answer."""


@dataclass
class LetterBox:
    answer: Answer
    letters: list[Letter] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/dead-letters"

    def count(self) -> int:
        with self.lock:
            return len(self.letters)


def forward_to(url: str) -> Callable[[Letter], int]:
    """Send ``letter`` on to ``url`` as it came; the status that answered it."""

    def forward(letter: Letter) -> int:
        headers = {"Content-Type": letter.headers.get("content-type", "")}
        return httpx.post(url, content=letter.body, headers=headers, timeout=30).status_code

    return forward


@contextmanager
def letter_box(answer: Answer) -> Iterator[LetterBox]:
    box = LetterBox(answer)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            letter = Letter(
                {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            with box.lock:
                box.letters.append(letter)
                number = len(box.letters)
            status = box.answer(number, letter)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
