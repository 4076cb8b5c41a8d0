"""The transport: what each request carries (credentials, query, body), a rotating token file,
and an official-client ``ApiClient`` adapted with its own settings. Against a loopback HTTP
server that records what it is sent."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kubeapi import raw, transport
from kubeapi.transport import Endpoint, TokenFile, Transport, transport_of


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.seen.append({"path": self.path, "headers": dict(self.headers),
                          "body": self.rfile.read(length)})  # fmt: skip
        answer = b'{"metadata":{"uid":"u-1"}}'
        self.send_response(201)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()


def test_a_request_carries_token_query_and_body(server: tuple[str, list[Any]]) -> None:
    url, seen = server
    api = Transport(Endpoint(url, token="t0k"))
    answer = raw.send(api, "POST", "/apis/batch/v1/namespaces/n/jobs", body={"a": "é"},
                      query=[("labelSelector", "a=b,c"), ("limit", "5")])  # fmt: skip
    assert (answer.status, answer.json()) == (201, {"metadata": {"uid": "u-1"}})
    request = seen[0]
    assert request["path"] == "/apis/batch/v1/namespaces/n/jobs?labelSelector=a%3Db%2Cc&limit=5"
    assert request["headers"]["Authorization"] == "Bearer t0k"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == '{"a":"é"}'.encode()


def test_a_server_with_a_path_prefix_keeps_it(server: tuple[str, list[Any]]) -> None:
    url, seen = server
    raw.send(Transport(Endpoint(url + "/proxy/")), "GET", "/api/v1/namespaces")
    assert seen[0]["path"] == "/proxy/api/v1/namespaces"
    assert "Authorization" not in seen[0]["headers"]


def test_a_token_file_is_read_again_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    clock = [100.0]
    monkeypatch.setattr("kubeapi.transport.time.monotonic", lambda: clock[0])
    read = TokenFile(str(token))
    assert read() == "Bearer one"
    token.write_text("two")
    assert read() == "Bearer one"  # not yet
    clock[0] += transport.TOKEN_FILE_REREAD_SECONDS
    assert read() == "Bearer two"
    token.unlink()  # being rotated: the last token stays in use
    clock[0] += transport.TOKEN_FILE_REREAD_SECONDS
    assert read() == "Bearer two"


@pytest.mark.parametrize("key", ["BearerToken", "authorization"])
def test_an_official_client_is_adapted_once_with_its_credentials(
    key: str, server: tuple[str, list[Any]]
) -> None:
    """``BearerToken`` is where the client's own loaders put the token; ``authorization``, its
    alias, where older code does."""
    url, seen = server
    configuration = client.Configuration(host=url)
    configuration.api_key = {key: "old"}
    configuration.api_key_prefix = {key: "Bearer"}

    def refresh(config: client.Configuration) -> None:  # as the exec plugins' hook does
        config.api_key = {key: "fresh"}

    configuration.refresh_api_key_hook = refresh  # type: ignore[assignment]
    api = client.ApiClient(configuration)
    assert transport_of(api) is transport_of(api)
    raw.send(api, "GET", "/version")
    assert seen[0]["headers"]["Authorization"] == "Bearer fresh"


def test_a_pool_only_grows() -> None:
    api = Transport(Endpoint("http://127.0.0.1:1"), pool_size=4)
    api.resize(2)
    assert api.pool_size == 4
    api.resize(70)
    assert (api.pool_size, api.pool.pool.maxsize) == (70, 70)  # type: ignore[union-attr]
