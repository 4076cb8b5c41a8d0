"""The bearer token ``jobsink send`` and ``jobsink status`` present when the receiver's
authentication is on: given (``--token``, ``--token-file``), or requested from the apiserver for a
service account with the JobSink's audience (``--audience-from-sink --service-account NS/NAME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from cli.exits import ExitCode, fail
from kubeapi.config import load_api_client
from kubeapi.errors import KubeError, NotFound
from kubeapi.jobsinks import JobSinks
from kubeapi.tokens import MIN_EXPIRATION_SECONDS, request_token

Token = Annotated[
    str | None,
    typer.Option(
        "--token", help="Bearer token to send (Authorization: Bearer ...).", show_default=False
    ),
]
TokenFile = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="Read the bearer token from a file (a projected service-account token).",
        exists=False,
    ),
]
AudienceFromSink = Annotated[
    bool,
    typer.Option(
        "--audience-from-sink",
        help="Request a token from the apiserver for the JobSink's published audience "
        "(status.address.audience), of --service-account.",
    ),
]
ServiceAccount = Annotated[
    str | None,
    typer.Option(
        "--service-account",
        help="NAMESPACE/NAME of the service account whose token --audience-from-sink requests.",
    ),
]
Kubeconfig = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig for --audience-from-sink (default: $KUBECONFIG, ~/.kube/config).",
        exists=False,
    ),
]


def sink_of(target: str) -> tuple[str, str]:
    """(namespace, name) of a JobSink target: ``ns/name`` or a URL whose path ends with them."""
    path = urlsplit(target).path if "://" in target else target
    parts = [part for part in path.split("/") if part]
    if len(parts) < 2:
        fail(f"cannot tell the JobSink's namespace and name from {target!r}", ExitCode.USAGE)
    return parts[-2], parts[-1]


def service_account_of(value: str) -> tuple[str, str]:
    namespace, sep, name = value.partition("/")
    if not sep or not namespace or not name or "/" in name:
        fail(f"--service-account {value!r} must look like NAMESPACE/NAME", ExitCode.USAGE)
    return namespace, name


def published_audience(sink: dict[str, Any] | None, namespace: str, name: str) -> str:
    if sink is None:
        fail(f"JobSink {namespace}/{name} not found", ExitCode.NOT_FOUND)
    audience = ((sink.get("status") or {}).get("address") or {}).get("audience")
    if not isinstance(audience, str) or not audience:
        fail(
            f"JobSink {namespace}/{name} publishes no audience (status.address.audience): "
            "the receiver's authentication is off, or it has not written the status yet",
            ExitCode.REFUSED,
        )
    return audience


def given_token(token: str | None, token_file: Path | None) -> str | None:
    """The token of ``--token`` or ``--token-file`` (one at most), or None."""
    if token is not None and token_file is not None:
        fail("use one of --token and --token-file", ExitCode.USAGE)
    if token is not None:
        return token.strip()
    if token_file is None:
        return None
    try:
        return token_file.read_text().strip()
    except OSError as error:
        fail(f"cannot read --token-file {token_file}: {error.strerror}", ExitCode.USAGE)


def bearer_token(
    target: str,
    *,
    token: str | None,
    token_file: Path | None,
    audience_from_sink: bool,
    service_account: str | None,
    kubeconfig: Path | None,
) -> str | None:
    """The token to send, or None to send none; one of the three ways at most."""
    chosen = [token is not None, token_file is not None, audience_from_sink]
    if sum(chosen) > 1:
        fail("use one of --token, --token-file and --audience-from-sink", ExitCode.USAGE)
    if service_account is not None and not audience_from_sink:
        fail("--service-account goes with --audience-from-sink", ExitCode.USAGE)
    if not audience_from_sink:
        return given_token(token, token_file)
    if service_account is None:
        fail("--audience-from-sink needs --service-account NAMESPACE/NAME", ExitCode.USAGE)
    account_namespace, account = service_account_of(service_account)
    namespace, name = sink_of(target)
    try:
        api = load_api_client(str(kubeconfig) if kubeconfig else None)
    except Exception as error:  # kubeconfig problems come as many exception types
        fail(f"cannot load the kubeconfig: {error}", ExitCode.USAGE)
    try:
        audience = published_audience(JobSinks(api).get(namespace, name), namespace, name)
        return request_token(
            api, account_namespace, account, audience, expiration_seconds=MIN_EXPIRATION_SECONDS
        )
    except NotFound:
        fail(f"service account {service_account} not found", ExitCode.NOT_FOUND)
    except KubeError as error:
        fail(f"requesting a token for {service_account}: {error}", ExitCode.REFUSED)
    finally:
        api.close()  # type: ignore[no-untyped-call]
