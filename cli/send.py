"""``jobsink send``: POST one CloudEvent to a JobSink and print the answer and its ``Location``.

Building the request (binary or structured content mode) is pure and lives apart from the HTTP
call so the tests pin the exact bytes on the wire.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer

from cli import credentials, endpoint
from cli.exits import ExitCode, fail
from jobsink import media
from jobsink.event import CloudEvent, EventError, body_data

STRUCTURED_CONTENT_TYPE = f"{media.CLOUDEVENTS_JSON}; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """What goes on the wire."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Outgoing:
    """The event the user described on the command line, before encoding."""

    source: str
    type: str
    id: str
    data: bytes | None = None
    content_type: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)


def to_event(outgoing: Outgoing) -> CloudEvent:
    """The event the receiver stores for ``outgoing`` (its data classified by the same rules);
    raises :class:`EventError` naming the attribute, or ``--data`` for JSON data that is not."""
    attributes: dict[str, object] = {
        "specversion": "1.0",
        "id": outgoing.id,
        "source": outgoing.source,
        "type": outgoing.type,
        **outgoing.extensions,
    }
    if outgoing.data is not None:
        attributes["datacontenttype"] = outgoing.content_type
    data = body_data(outgoing.data or b"", outgoing.content_type, "--data")
    return CloudEvent.from_attributes(attributes, data)


def header_value(value: str) -> str:
    """Percent-encode as the CloudEvents HTTP binding requires for ``ce-`` headers: space, ``"``,
    ``%`` and everything outside printable ASCII (UTF-8 bytes), so any attribute value is sendable.
    """
    keep = {chr(c) for c in range(0x21, 0x7F)} - {'"', "%"}
    return "".join(
        char if char in keep else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in value
    )


def binary_request(outgoing: Outgoing) -> Request:
    """Binary content mode: attributes as ``ce-`` headers, the data as the body, untouched."""
    event = to_event(outgoing)
    headers = {
        f"ce-{name}": header_value(str(value))
        for name, value in event.attributes.items()
        if name != "datacontenttype"
    }
    # Content-Type is a plain HTTP header, not a ce- header: it is sent as is, never
    # percent-encoded (a receiver reads "text/plain;%20charset=utf-8" literally).
    if event.datacontenttype is not None:
        headers["content-type"] = event.datacontenttype
    return Request(headers, outgoing.data or b"")


def structured_request(outgoing: Outgoing) -> Request:
    """Structured content mode: the whole event as one ``application/cloudevents+json`` body."""
    return Request({"content-type": STRUCTURED_CONTENT_TYPE}, to_event(outgoing).to_json())


def _extensions(pairs: list[str]) -> dict[str, str]:
    extensions = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            fail(f"--extension {pair!r} must look like name=value", ExitCode.USAGE)
        extensions[name] = value
    return extensions


def _read_data(data: str | None, data_file: Path | None) -> bytes | None:
    if data is not None and data_file is not None:
        fail("use either --data or --data-file, not both", ExitCode.USAGE)
    if data_file is None:
        return None if data is None else data.encode("utf-8")
    try:
        return data_file.read_bytes()
    except OSError as error:
        fail(f"cannot read --data-file {data_file}: {error.strerror}", ExitCode.USAGE)


def send(
    target: Annotated[
        str, typer.Argument(help="JobSink URL, or <namespace>/<name> resolved against --url.")
    ],
    source: Annotated[str, typer.Option("--source", "-s", help="CloudEvent source.")],
    type_: Annotated[str, typer.Option("--type", "-t", help="CloudEvent type.")],
    id_: Annotated[
        str | None,
        typer.Option("--id", "-i", help="CloudEvent id (default: a random UUID)."),
    ] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help="Event data, inline.")] = None,
    data_file: Annotated[
        Path | None, typer.Option("--data-file", "-f", help="Read the event data from a file.")
    ] = None,
    content_type: Annotated[
        str, typer.Option("--content-type", help="Media type of the data (datacontenttype).")
    ] = "application/json",
    extension: Annotated[
        list[str] | None,
        typer.Option("--extension", "-e", help="Extension attribute name=value (repeatable)."),
    ] = None,
    structured: Annotated[
        bool,
        typer.Option(
            "--structured", help="Send in structured mode (application/cloudevents+json)."
        ),
    ] = False,
    base_url: endpoint.BaseUrl = endpoint.DEFAULT_URL,
    cacert: endpoint.CaCert = None,
    timeout: endpoint.Timeout = 30.0,
    token: credentials.Token = None,
    token_file: credentials.TokenFile = None,
    audience_from_sink: credentials.AudienceFromSink = False,
    service_account: credentials.ServiceAccount = None,
    kubeconfig: credentials.Kubeconfig = None,
) -> None:
    r"""Send a CloudEvent to a JobSink; prints the HTTP status and the Location to poll.

    With the receiver's authentication on, send a bearer token for the JobSink's audience:
    --token or --token-file, or --audience-from-sink --service-account NS/NAME to have the
    apiserver issue one (TokenRequest, ten minutes) for that service account.

    Exit codes: 0 accepted, 1 refused (4xx/5xx), 2 bad input,
    3 receiver unreachable, 4 JobSink not found.

    Examples:
      jobsink send default/job-sink-logger --source my/curl/command \
          --type my.demo.event --id 123 --data '{"details":"JobSinkDemo"}'
      jobsink send http://127.0.0.1:8080/default/job-sink-logger \
          -s my/source -t my.type -f event.json --structured
      jobsink send team-a/my-sink -s my/source -t my.type \
          --audience-from-sink --service-account team-a/sender
    """
    body = _read_data(data, data_file)
    outgoing = Outgoing(
        source=source,
        type=type_,
        id=id_ if id_ is not None else str(uuid.uuid4()),
        data=body,
        content_type=content_type if body is not None else None,
        extensions=_extensions(extension or []),
    )
    try:
        request = structured_request(outgoing) if structured else binary_request(outgoing)
    except EventError as error:
        fail(f"invalid event: {error}", ExitCode.USAGE)
    url = endpoint.sink_url(target, base_url)
    bearer = credentials.bearer_token(
        target,
        token=token,
        token_file=token_file,
        audience_from_sink=audience_from_sink,
        service_account=service_account,
        kubeconfig=kubeconfig,
    )
    if bearer is not None:
        request.headers["authorization"] = f"Bearer {bearer}"
    request.headers["accept"] = "application/json"  # the receiver then names the Job it made
    with endpoint.client(cacert=cacert, timeout=timeout) as http:
        try:
            response = http.post(url, headers=request.headers, content=request.body)
        except httpx.HTTPError as error:
            fail(endpoint.unreachable(url, error), ExitCode.UNREACHABLE)
    if response.status_code == 404:
        fail(endpoint.error_message(response), ExitCode.NOT_FOUND)
    if response.is_error:
        fail(endpoint.error_message(response), ExitCode.REFUSED)
    print(f"{response.status_code} {response.reason_phrase}")
    if id_ is None:
        print(f"id: {outgoing.id}")
    location = response.headers.get("location")
    if location:
        print(f"Location: {response.url.join(location)}")
    job = _accepted_job(response)
    if job:
        print(f"Job: {job}")


def _accepted_job(response: httpx.Response) -> str | None:
    """``ns/name (outcome)`` from the receiver's JSON answer, when it names the Job."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("job"), str):
        return None
    name = f"{body['namespace']}/{body['job']}" if "namespace" in body else body["job"]
    return f"{name} ({body['outcome']})" if "outcome" in body else name


def register(app: typer.Typer) -> None:
    app.command("send")(send)
