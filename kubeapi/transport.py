"""The connection to the apiserver: one urllib3 pool of kept-alive connections to its address,
the TLS context and the credentials of each request. Every request of ours goes through it.

Why our own rather than the official client's ``ApiClient``: on the receiver's data path that
client walks every request body through ``sanitize_for_serialization`` and wraps every answer,
and importing it loads some thousands of model classes (about 37 MB of the receiver's memory).
A request here is one ``urlopen`` on a pool of the right size with the body already encoded.

An ``ApiClient`` that tests or other tools built from a ``kubernetes.client.Configuration`` is
still accepted wherever a ``Transport`` is (``transport_of``): its host, TLS settings and
credentials (the refresh hook of exec plugins included) are carried over, once per client.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.util.retry import Retry

from kubeapi import aio, http1
from kubeapi.http1 import Reply

if TYPE_CHECKING:
    from kubernetes import client

DEFAULT_POOL_SIZE = 10
TOKEN_FILE_REREAD_SECONDS = 60.0
"""How long a token read from a file is used before the file is read again: projected
service-account tokens are rotated on disk (client-go rereads them about this often)."""
USER_AGENT = "jobsink-python"
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Endpoint:
    """Where the apiserver is and how to prove who we are to it (from a kubeconfig or the Pod's
    service account). Of a file and data for the same thing, the data wins, as in kubectl."""

    server: str
    """``https://host:port`` (or ``http://`` for a plain listener)."""
    ca_file: str | None = None
    ca_data: str | None = None
    """PEM text."""
    insecure: bool = False
    """Skip verifying the apiserver's certificate (``insecure-skip-tls-verify``)."""
    tls_server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None


Authorization = Callable[[], str | None]
"""The ``Authorization`` header's value for the next request, or None for none."""


class Transport:
    """Connections to one apiserver: ``exchange`` for calls with a whole answer from a thread
    (``kubeapi.http1``), ``exchange_async`` for the same on the event loop (``kubeapi.aio``),
    ``request`` for streams (urllib3). Thread-safe, but the loop's pool serves one loop."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        authorization: Authorization | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``authorization`` overrides the endpoint's token (a refreshing credential);
        ``ssl_context`` its TLS settings."""
        self.endpoint = endpoint
        self.host = endpoint.server.rstrip("/")
        parts = urlsplit(self.host)
        self._prefix = parts.path
        self._authorization = authorization or _token_authorization(endpoint)
        self._context = ssl_context
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self.pool_size = pool_size
        self.pool = self._new_pool(pool_size)
        self.calls = http1.Pool(*self._address(), **self._pool_options(pool_size))
        self._loop_calls: aio.AsyncPool | None = None

    def _address(self) -> tuple[str, int]:
        parts = urlsplit(self.host)
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)

    def _pool_options(self, size: int) -> dict[str, Any]:
        https = self._scheme == "https"
        return {
            "authority": self._netloc,
            "context": (self._context or tls_context(self.endpoint)) if https else None,
            "server_hostname": self.endpoint.tls_server_name,
            "size": size,
            "socket_options": _keepalive(),
        }

    @property
    def loop_calls(self) -> aio.AsyncPool:
        # Made on first use: most parts never call from the loop, and need no TLS context twice.
        if self._loop_calls is None:
            self._loop_calls = aio.AsyncPool(*self._address(), **self._pool_options(self.pool_size))
        return self._loop_calls

    def _new_pool(self, size: int) -> urllib3.HTTPConnectionPool:
        url = f"{self._scheme}://{self._netloc}"
        options: dict[str, Any] = {
            "maxsize": size,
            # urllib3's default: a pooled connection the apiserver closed meanwhile is retried
            # on a fresh one instead of failing the call.
            "retries": Retry.DEFAULT,
            "socket_options": [
                *urllib3.connection.HTTPConnection.default_socket_options,
                *_keepalive(),
            ],
        }
        if self._scheme == "https":
            options["ssl_context"] = self._context or tls_context(self.endpoint)
            if self.endpoint.tls_server_name:
                options["server_hostname"] = self.endpoint.tls_server_name
            if self.endpoint.insecure:
                options["assert_hostname"] = False
                options["cert_reqs"] = ssl.CERT_NONE
        return urllib3.connectionpool.connection_from_url(url, **options)

    def resize(self, size: int) -> None:
        """Keep up to ``size`` connections (never fewer than now). Call it before sending."""
        if size > self.pool_size:
            self.pool_size = size
            old, self.pool = self.pool, self._new_pool(size)
            old.close()
            self.calls.size = size
            if self._loop_calls is not None:
                self._loop_calls.size = size

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float | tuple[float, float] | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One request; with ``stream`` the answer's body is left unread (release the
        connection after reading it). urllib3 errors and ``OSError`` pass through."""
        url, sent = self._target(path, query, headers)
        return self.pool.urlopen(
            method,
            url,
            body=body,
            headers=sent,
            timeout=_timeout(timeout),
            preload_content=not stream,
            release_conn=not stream,
            redirect=False,
        )

    def exchange(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """One request and its whole answer, over ``kubeapi.http1``; ``OSError`` when it fails.
        ``timeout`` (default: a minute) bounds the whole exchange."""
        url, sent = self._target(path, query, headers)
        return self.calls.request(method, url, sent, body, timeout or DEFAULT_TIMEOUT)

    async def exchange_async(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        within: float | None = None,
    ) -> Reply:
        """``exchange`` on the running event loop, over ``kubeapi.aio``; ``TimeoutError`` when
        not answered ``within`` seconds."""
        url, sent = self._target(path, query, headers)
        return await self.loop_calls.request(method, url, sent, body, within)

    def _target(
        self, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str] | None
    ) -> tuple[str, dict[str, str]]:
        url = self._prefix + path
        if query:
            url += "?" + urlencode(query)
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        authorization = self._authorization()
        if authorization:
            sent["Authorization"] = authorization
        return url, sent

    def close(self) -> None:
        self.pool.close()
        self.calls.close()
        if self._loop_calls is not None:
            self._loop_calls.close()


Api: TypeAlias = "Transport | client.ApiClient"
"""What the gateway sends through: a ``Transport``, or an official-client ``ApiClient``."""


def transport_of(api: Api) -> Transport:
    """``api`` itself, or the ``Transport`` made once from an official client's configuration."""
    if isinstance(api, Transport):
        return api
    made: Transport | None = getattr(api, "_jobsink_transport", None)
    if made is None:
        made = from_configuration(api.configuration)
        setattr(api, "_jobsink_transport", made)  # noqa: B010 (the official client has no slot)
    return made


def from_configuration(configuration: Any) -> Transport:
    """A ``Transport`` with the host, TLS and credentials of a ``kubernetes.client.Configuration``
    (the exec and auth-provider plugins' refreshing tokens included, through its hook)."""
    endpoint = Endpoint(
        server=configuration.host,
        ca_file=configuration.ssl_ca_cert,
        ca_data=getattr(configuration, "ca_cert_data", None),
        insecure=not configuration.verify_ssl,
        tls_server_name=getattr(configuration, "tls_server_name", None),
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
    )

    def authorization() -> str | None:
        # The client's own lookup: it runs the refresh hook (exec plugins) before answering.
        value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
        if value:
            return str(value)
        if configuration.username and configuration.password:
            return str(configuration.get_basic_auth_token())
        return None

    return Transport(
        endpoint,
        pool_size=configuration.connection_pool_maxsize or DEFAULT_POOL_SIZE,
        authorization=authorization,
    )


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The client TLS context of ``endpoint``: its CA (else the system's), its client
    certificate, or no verification when it says ``insecure``."""
    context = ssl.create_default_context(cafile=endpoint.ca_file, cadata=endpoint.ca_data)
    if endpoint.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if endpoint.cert_file or endpoint.cert_data:
        with _files(endpoint) as (cert, key):
            context.load_cert_chain(cert, key)
    return context


@contextlib.contextmanager
def _files(endpoint: Endpoint) -> Any:
    """The client certificate and key as files (``ssl`` loads them only from files): the given
    paths, or private temporary files with the given data, removed once loaded."""
    made: list[str] = []
    try:
        paths = []
        for path, data in ((endpoint.cert_file, endpoint.cert_data),
                           (endpoint.key_file, endpoint.key_data)):  # fmt: skip
            if data is not None:
                handle, path = tempfile.mkstemp(prefix="jobsink-", suffix=".pem")
                made.append(path)
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
            paths.append(path)
        yield paths[0], paths[1]
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _token_authorization(endpoint: Endpoint) -> Authorization:
    if endpoint.token_file:
        return TokenFile(endpoint.token_file, fallback=endpoint.token)
    header = f"Bearer {endpoint.token}" if endpoint.token else None
    return lambda: header


class TokenFile:
    """A bearer token read from a file, read again every ``TOKEN_FILE_REREAD_SECONDS``."""

    def __init__(self, path: str, *, fallback: str | None = None) -> None:
        self.path = path
        self._fallback = fallback
        self._lock = threading.Lock()
        self._header: str | None = None
        self._read_at = float("-inf")

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self._read_at < TOKEN_FILE_REREAD_SECONDS:
            return self._header
        with self._lock:
            if now - self._read_at >= TOKEN_FILE_REREAD_SECONDS:
                try:
                    with open(self.path, encoding="utf-8") as file:
                        token: str | None = file.read().strip()
                except OSError:
                    # Kept: a token file being rotated is briefly missing.
                    token = None if self._header is None else self._header[len("Bearer ") :]
                    token = token or self._fallback
                self._header = f"Bearer {token}" if token else None
                self._read_at = now
        return self._header


def _timeout(timeout: float | tuple[float, float] | None) -> urllib3.Timeout:
    if timeout is None:
        return urllib3.Timeout(total=None)
    if isinstance(timeout, tuple):
        return urllib3.Timeout(connect=timeout[0], read=timeout[1])
    return urllib3.Timeout(total=timeout)


def _keepalive() -> list[tuple[int, int, int]]:
    """TCP keep-alive probes: a watch on a connection that died silently ends in about a minute
    instead of at its read timeout."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options
