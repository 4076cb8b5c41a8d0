"""Fixtures for the CLI tests: a Typer app with one command, and a loopback HTTP server.

The server is a real ``http.server`` on 127.0.0.1 that records each request and answers with
what the test queued, so ``send``/``status`` are exercised over a real socket.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import typer
from typer.testing import CliRunner


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Loopback:
    url: str
    answers: list[Answer]
    requests: list[Recorded]


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    state = Loopback(url="", answers=[], requests=[])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            state.requests.append(
                Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
            )
            answer = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def single_command_app(register: Callable[[typer.Typer], None]) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Keeps the command as a subcommand, as in the real ``jobsink`` app."""

    register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Commands that configure logging (webhook, receiver) attach handlers to CliRunner's
    streams, which close when the invocation ends; restore the root logger so a later test's
    library logging (httpx logs each request at INFO) never writes to a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
