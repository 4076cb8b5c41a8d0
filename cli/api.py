"""``jobsink validate`` and ``jobsink render``: the API package on files, no cluster needed.

Both call exactly what the webhook and the receiver call (``default``, ``validate``, ``warnings``,
``render``), so a file that passes here is admitted by the webhook, and ``render`` shows the very
Job and Secret the receiver would create.

Exit codes: 0 all documents valid; 1 at least one invalid JobSink; 2 unreadable input or usage.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cli.exits import ExitCode, fail
from jobsink.defaults import default
from jobsink.event import CloudEvent, EventError, json_data, parse_json
from jobsink.render import render
from jobsink.types import KIND
from jobsink.validation import validate, warnings

DEFAULT_TYPE = "dev.jobsink.render"


@dataclass(frozen=True)
class Document:
    """One YAML/JSON document of an input file, named for messages."""

    name: str
    obj: dict[str, Any]


def documents(path: Path) -> Iterator[Document]:
    """The JobSinks in ``path`` ('-' is stdin), multi-document YAML and ``kind: List`` included."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{path}: cannot read: {error.strerror or error}", ExitCode.USAGE)
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text", ExitCode.USAGE)
    try:
        loaded = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        fail(f"{path}: cannot parse YAML{where}: {problem}", ExitCode.USAGE)
    for position, doc in enumerate(_flatten(loaded), start=1):
        if not isinstance(doc, dict):
            fail(f"{path}#{position}: expected a mapping (a JobSink object)", ExitCode.USAGE)
        if doc.get("kind") != KIND:
            print(
                f"{path}#{position}: skipped: kind {doc.get('kind')!r} is not {KIND}",
                file=sys.stderr,
            )
            continue
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        yield Document(name if isinstance(name, str) and name else f"{path}#{position}", doc)


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _expand(paths: list[Path]) -> Iterator[Path]:
    """Files as given; a directory stands for its manifests (not recursive, like kubectl -f)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in MANIFEST_SUFFIXES)
        else:
            yield path


def _flatten(docs: list[Any]) -> Iterator[Any]:
    for doc in docs:
        if (
            isinstance(doc, dict)
            and doc.get("kind") == "List"
            and isinstance(doc.get("items"), list)
        ):
            yield from doc["items"]
        else:
            yield doc


def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="JobSink YAML or JSON files, directories of them, or '-' for stdin.",
            show_default=False,
        ),
    ],
    show_defaults: Annotated[
        bool,
        typer.Option("--show-defaults", help="Print each defaulted JobSink as YAML on stdout."),
    ] = False,
) -> None:
    """Default and validate JobSinks as the admission webhook does; print every error.

    Each error is printed as '<document name>: <field path>: <message>'. Warnings go to stderr.
    With --show-defaults stdout carries only YAML and the errors go to stderr.
    Exit status: 0 all valid, 1 any invalid, 2 unreadable input.
    """
    report = sys.stderr if show_defaults else sys.stdout
    invalid = 0
    defaulted_docs: list[dict[str, Any]] = []
    for path in _expand(files):
        for doc in documents(path):
            defaulted = default(doc.obj)
            errors = validate(defaulted)
            for error in errors:
                print(f"{doc.name}: {error.path}: {error.message}", file=report)
            if errors:
                invalid += 1
                continue
            for warning in warnings(defaulted):
                print(f"{doc.name}: warning: {warning}", file=sys.stderr)
            if show_defaults:
                defaulted_docs.append(defaulted)
            else:
                print(f"{doc.name}: valid", file=report)
    if defaulted_docs:
        sys.stdout.write(yaml.safe_dump_all(defaulted_docs, sort_keys=False))
    if invalid:
        raise typer.Exit(int(ExitCode.REFUSED))


def render_command(
    file: Annotated[Path, typer.Argument(help="A file holding one JobSink ('-' for stdin).")],
    source: Annotated[str, typer.Option("--source", "-s", help="The event's source attribute.")],
    id: Annotated[str, typer.Option("--id", "-i", help="The event's id attribute.")],
    type_: Annotated[
        str, typer.Option("--type", "-t", help="The event's type attribute.")
    ] = DEFAULT_TYPE,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", "-d", help="JSON data of the event (datacontenttype application/json)."
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", "-n", help="Namespace of the JobSink (default: its metadata.namespace)."
        ),
    ] = None,
) -> None:
    """Print, as YAML, the Secret and the Job the receiver would create for one event.

    Exit status: 0 printed, 1 the JobSink is invalid (errors as in validate), 2 bad input.
    """
    sinks = list(documents(file))
    if len(sinks) != 1:
        fail(f"{file}: expected exactly one {KIND}, found {len(sinks)}", ExitCode.USAGE)
    doc = sinks[0]
    defaulted = default(doc.obj)
    errors = validate(defaulted)
    if errors:
        for error in errors:
            print(f"{doc.name}: {error.path}: {error.message}", file=sys.stderr)
        raise typer.Exit(int(ExitCode.REFUSED))
    if namespace:
        defaulted.setdefault("metadata", {})["namespace"] = namespace
    try:
        event = _event(source, id, type_, data)
    except EventError as error:
        fail(f"{error.attribute}: {error.message}", ExitCode.USAGE)
    rendered = render(defaulted, event)
    sys.stdout.write(yaml.safe_dump_all([rendered.secret, rendered.job], sort_keys=False))


def _event(source: str, id: str, type_: str, data: str | None) -> CloudEvent:
    attributes: dict[str, object] = {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": type_,
    }
    if data is None:
        return CloudEvent.from_attributes(attributes)
    attributes["datacontenttype"] = "application/json"
    return CloudEvent.from_attributes(attributes, json_data(parse_json(data, "--data")))


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)
    app.command("render")(render_command)
