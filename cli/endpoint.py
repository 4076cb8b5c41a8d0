"""Where the receiver is and how the CLI talks to it: shared by ``jobsink send`` and ``status``.

The receiver's base URL comes from ``--url``, else ``$JOBSINK_URL``, else the loopback address
``jobsink dev`` serves on. Targets may be full URLs (used as they are) or short forms resolved
against the base: ``ns/name`` for a JobSink, ``/namespaces/...`` for a status Location.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cli.exits import ExitCode, fail

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "JOBSINK_URL"

_SINK = re.compile(r"(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/(?P<name>[a-z0-9][-a-z0-9.]*)")

BaseUrl = Annotated[
    str,
    typer.Option(
        "--url",
        envvar=URL_ENV,
        help="Receiver base URL for ns/name and /path targets.",
        show_default=True,
    ),
]
CaCert = Annotated[
    Path | None,
    typer.Option("--cacert", help="PEM CA bundle to verify an https receiver with.", exists=False),
]
Timeout = Annotated[
    float, typer.Option(help="Seconds to wait for each HTTP answer.", min=0.1, show_default=True)
]


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def sink_url(target: str, base_url: str) -> str:
    """The URL to POST to: ``target`` itself, or ``<base>/<ns>/<name>`` for ``ns/name``."""
    if is_url(target):
        return target
    if not _SINK.fullmatch(target):
        fail(f"target {target!r} is neither a URL nor <namespace>/<jobsink-name>", ExitCode.USAGE)
    return f"{base_url.rstrip('/')}/{target}"


def location_url(location: str, base_url: str) -> str:
    """The URL to GET for a status ``Location``: absolute, or a path resolved against the base."""
    if is_url(location):
        return location
    if not location.startswith("/"):
        fail(f"location {location!r} is neither a URL nor a path starting with /", ExitCode.USAGE)
    return str(httpx.URL(base_url).join(location))


def client(*, cacert: Path | None, timeout: float) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if cacert is not None:
        try:
            verify = ssl.create_default_context(cafile=str(cacert))
        except (OSError, ssl.SSLError) as error:
            fail(f"cannot use --cacert {cacert}: {error}", ExitCode.USAGE)
    return httpx.Client(verify=verify, timeout=timeout)


def unreachable(url: str, error: httpx.HTTPError) -> str:
    """One line for a transport failure, without the exception's chained noise."""
    reason = str(error) or type(error).__name__
    return f"cannot reach {url}: {reason}"


def error_message(response: httpx.Response) -> str:
    """``<status> <phrase>: <detail>``, the detail taken from a JSON error body if any."""
    head = f"{response.status_code} {response.reason_phrase}"
    detail = _detail(response)
    return f"{head}: {detail}" if detail else head


def _detail(response: httpx.Response) -> str:
    text = response.text.strip()
    if not text:
        return str(response.headers.get("reason", ""))
    try:
        body: Any = response.json()
    except ValueError:
        return " ".join(text.split())[:300]
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "reason"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return " ".join(text.split())[:300]
