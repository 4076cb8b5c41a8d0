"""``jobsink status``: the state of the Job behind a ``Location`` that ``jobsink send`` printed.

The receiver answers ``GET <Location>`` with 202 while the Job runs, 200 once it completed,
400 when it failed and 404 when there is no such Job, with a JSON body naming the Job and its
conditions. :func:`report` turns one answer into what the user sees and the exit code.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer

from cli import credentials, endpoint
from cli.exits import ExitCode, fail

#: HTTP status -> (state shown, exit code) for answers about an existing Job.
STATES: dict[int, tuple[str, ExitCode]] = {
    200: ("Complete", ExitCode.OK),
    202: ("Running", ExitCode.PENDING),
    400: ("Failed", ExitCode.REFUSED),
}


@dataclass(frozen=True)
class Report:
    state: str
    lines: list[str]
    code: ExitCode
    #: The answer was not about a Job (404, bad request, server error): one error line.
    error: bool = False

    @property
    def finished(self) -> bool:
        return self.code is not ExitCode.PENDING


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _job_name(body: dict[str, Any]) -> str | None:
    job = body.get("job")
    if isinstance(job, dict):
        job = job.get("name")
    name = job if isinstance(job, str) else body.get("name")
    if not isinstance(name, str):
        return None
    namespace = body.get("namespace")
    return f"{namespace}/{name}" if isinstance(namespace, str) else name


def _condition_lines(body: dict[str, Any]) -> list[str]:
    lines = []
    for condition in body.get("conditions") or []:
        if not isinstance(condition, dict):
            continue
        line = f"  {condition.get('type')}={condition.get('status')}"
        why = " ".join(str(condition[k]) for k in ("reason", "message") if condition.get(k))
        lines.append(f"{line}  {why}" if why else line)
    return lines


def report(response: httpx.Response) -> Report:
    """What one GET answer means. A 400 without a Job in its body is a bad request, not a Job."""
    body = _body(response)
    job = _job_name(body)
    known = STATES.get(response.status_code)
    if known is None or (response.status_code == 400 and job is None):
        code = ExitCode.NOT_FOUND if response.status_code == 404 else ExitCode.REFUSED
        return Report("Error", [endpoint.error_message(response)], code, error=True)
    state, code = known
    # The receiver names the state itself (it may know finer ones); the status code decides exit.
    shown = body.get("state")
    state = shown if isinstance(shown, str) and shown else state
    header = f"{state}: job {job}" if job else state
    return Report(state, [header, *_condition_lines(body)], code)


def _get(http: httpx.Client, url: str) -> httpx.Response:
    try:
        return http.get(url)
    except httpx.HTTPError as error:
        fail(endpoint.unreachable(url, error), ExitCode.UNREACHABLE)


def status(
    location: Annotated[
        str, typer.Argument(help="The Location printed by `jobsink send` (URL or /path).")
    ],
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Poll until the Job completes or fails.")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between polls with --wait.", min=0.1)
    ] = 2.0,
    wait_timeout: Annotated[
        float,
        typer.Option(
            "--wait-timeout", help="Give up waiting after this many seconds (0: never).", min=0
        ),
    ] = 0.0,
    base_url: endpoint.BaseUrl = endpoint.DEFAULT_URL,
    cacert: endpoint.CaCert = None,
    timeout: endpoint.Timeout = 30.0,
    token: credentials.Token = None,
    token_file: credentials.TokenFile = None,
) -> None:
    r"""Show the state of the Job an event created.

    With the receiver's authentication on, reading a Location takes the same bearer token as
    sending to its JobSink (--token or --token-file).

    Exit codes: 0 Complete, 1 Failed (or request refused), 2 bad input,
    3 receiver unreachable, 4 no such Job, 5 still running
    (without --wait, or when --wait-timeout expires), 130 interrupted.

    Examples:
      jobsink status /namespaces/default/name/my-sink/sources/my%2Fsrc/ids/1
      jobsink status "$LOCATION" --wait --wait-timeout 600
    """
    url = endpoint.location_url(location, base_url)
    bearer = credentials.given_token(token, token_file)
    deadline = time.monotonic() + wait_timeout if wait_timeout else None
    last: list[str] = []
    try:
        with endpoint.client(cacert=cacert, timeout=timeout) as http:
            if bearer is not None:
                http.headers["authorization"] = f"Bearer {bearer}"
            while True:
                result = report(_get(http, url))
                if result.error:
                    fail(result.lines[0], result.code)
                if result.lines != last:
                    print("\n".join(result.lines), flush=True)
                    last = result.lines
                out_of_time = deadline is not None and time.monotonic() >= deadline
                if result.finished or not wait or out_of_time:
                    raise typer.Exit(int(result.code))
                time.sleep(interval)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def register(app: typer.Typer) -> None:
    app.command("status")(status)
