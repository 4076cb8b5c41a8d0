"""FakeKubeApi: a FAKE Kubernetes apiserver over real HTTP (Jobs, Secrets) with injected faults.

Only what the receiver uses: create (409 AlreadyExists), get, a merge patch of annotations (uid
precondition), delete with uid and resourceVersion preconditions, and list by label selector (in
key order, paged with ``limit`` and ``continue`` as the apiserver does), for
``batch/v1`` Jobs and ``v1`` Secrets. Deleting a Job deletes the Secrets it owns, as the garbage
collector would (``gc=False`` turns that off to strand Secrets).

Faults are rules matched in order against (method, resource): answer a status (with Retry-After),
stall longer than the client's timeout, or apply the request and then drop the connection so the
client never learns that its POST succeeded. The real client code (``kubeapi.calls``) talks to it
through the official ``ApiClient``, so retries and timeouts are exercised for real.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kubernetes import client

_PATH = re.compile(
    r"^/(?:api/v1|apis/batch/v1)(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>jobs|secrets)"
    r"(?:/(?P<name>[^/]+))?$"
)


@dataclass
class Fault:
    method: str
    plural: str
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    stall: float = 0.0
    """Sleep this long before answering (a client with a shorter timeout gives up)."""
    apply_then_drop: bool = False
    """Perform the request, then close the connection without an answer."""
    hold: threading.Event | None = None
    """Wait until this is set, then answer normally (a request the test keeps in flight)."""


@dataclass
class FakeKubeApi:
    gc: bool = True
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, plural, query) of every request that reached the fake."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    version: int = 0
    """The last resourceVersion handed out (every write gets the next one)."""

    def fail(self, method: str, plural: str, **fault: Any) -> None:
        with self.lock:
            self.faults.append(Fault(method, plural, **fault))

    def of(self, plural: str) -> list[dict[str, Any]]:
        with self.lock:
            return [obj for (p, _, _), obj in self.objects.items() if p == plural]

    def writes(self) -> list[tuple[str, str, str]]:
        return [call for call in self.calls if call[0] != "GET"]

    def _fault(self, method: str, plural: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.plural == plural and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def handle(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        match = _PATH.match(url.path)
        if match is None:
            return 404, _status(404, "NotFound", f"no route {url.path}")
        plural, ns = match["plural"], match["ns"]
        name = unquote(match["name"]) if match["name"] else None
        query = parse_qs(url.query)
        with self.lock:
            if method == "POST" and name is None:
                return self._create(plural, ns, body or {})
            if method == "GET" and name is None:
                return 200, self._list(
                    plural,
                    ns,
                    query.get("labelSelector", [""])[0],
                    int(query.get("limit", ["0"])[0]),
                    query.get("continue", [""])[0],
                )
            if method == "GET" and name is not None:
                obj = self.objects.get((plural, ns, name))
                return (200, obj) if obj else (404, _status(404, "NotFound", f"{name} not found"))
            if method == "DELETE" and name is not None:
                return self._delete(plural, ns, name, body or {})
            if method == "PATCH" and name is not None:
                return self._annotate(plural, ns, name, body or {})
        return 405, _status(405, "MethodNotAllowed", method)

    def _create(self, plural: str, ns: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        meta = body.setdefault("metadata", {})
        key = (plural, ns, meta["name"])
        if key in self.objects:
            return 409, _status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
        meta.update(
            namespace=ns,
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_version(),
            creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.objects[key] = body
        return 201, body

    def _next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def _annotate(
        self, plural: str, ns: str, name: str, patch: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            return 404, _status(404, "NotFound", f"{name} not found")
        meta = patch.get("metadata") or {}
        if meta.get("uid") not in (None, obj["metadata"]["uid"]):
            return 409, _status(409, "Conflict", "Precondition failed: UID in precondition")
        annotations = obj["metadata"].setdefault("annotations", {})
        annotations.update(meta.get("annotations") or {})
        obj["metadata"]["resourceVersion"] = self._next_version()
        return 200, obj

    def _delete(
        self, plural: str, ns: str, name: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            return 404, _status(404, "NotFound", f"{name} not found")
        preconditions = body.get("preconditions") or {}
        for field_name in ("uid", "resourceVersion"):
            wanted = preconditions.get(field_name)
            if wanted and wanted != obj["metadata"][field_name]:
                return 409, _status(409, "Conflict", f"precondition failed: {field_name}")
        del self.objects[(plural, ns, name)]
        if plural == "jobs" and self.gc:
            uid = obj["metadata"]["uid"]
            for key, other in list(self.objects.items()):
                refs = other["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in refs):
                    del self.objects[key]
        return 200, _status(200, "Success", "deleted")

    def _list(
        self, plural: str, ns: str | None, selector: str, limit: int = 0, after: str = ""
    ) -> dict[str, Any]:
        """Sorted by ``namespace/name``, the apiserver's storage key; ``after`` is the continue
        token, which here is simply the last key of the previous page."""
        keyed = sorted(
            (f"{n}/{name}", obj)
            for (p, n, name), obj in self.objects.items()
            if p == plural and (ns is None or n == ns) and _selects(selector, obj)
        )
        keyed = [(key, obj) for key, obj in keyed if key > after]
        page = keyed[:limit] if limit else keyed
        more = len(page) < len(keyed)
        metadata = {"resourceVersion": str(self.version), "continue": page[-1][0] if more else ""}
        return {"kind": "List", "metadata": metadata, "items": [obj for _, obj in page]}

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the fake on 127.0.0.1; yields its base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                match = _PATH.match(urlsplit(self.path).path)
                plural = match["plural"] if match else ""
                fake.calls.append((self.command, plural, urlsplit(self.path).query))
                fault = fake._fault(self.command, plural)
                if fault is not None and fault.hold is not None:
                    fault.hold.wait(30)
                    fault = None
                if fault is not None and fault.stall:
                    time.sleep(fault.stall)
                if fault is not None and fault.apply_then_drop:
                    fake.handle(self.command, self.path, body)
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault is not None and not fault.stall:
                    status, answer = fault.status, _status(fault.status, "Injected", "fault")
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                else:
                    status, answer = fake.handle(self.command, self.path, body)
                    headers = {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    @staticmethod
    def api_client(url: str) -> client.ApiClient:
        configuration = client.Configuration()
        configuration.host = url
        return client.ApiClient(configuration)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "code": code, "reason": reason, "message": message}


def _selects(selector: str, obj: dict[str, Any]) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if key not in labels or (value and labels[key] != value):
            return False
    return True
