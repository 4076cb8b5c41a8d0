"""The generators' building blocks, table-driven, with pydantic-settings itself as the oracle for
environment variable names."""

from __future__ import annotations

import enum
import json
import types
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from docgen import cli_reference, crd_reference, markdown, settings_reference
from docgen.comments import doc_comments
from docgen.exit_codes import exit_code_table
from docgen.pages import PACKAGES
from pydantic import AliasChoices, BaseModel, Field, IPvAnyAddress, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("POST /<namespace>/<name>", "POST /&lt;namespace&gt;/&lt;name&gt;"),
        ("a `<kept>` span", "a `<kept>` span"),
        ("R&D <x> ``a`b`` <y>", "R&amp;D &lt;x&gt; ``a`b`` &lt;y&gt;"),
        ("plain", "plain"),
    ],
)
def test_prose_escapes_html_outside_code_spans(text: str, expected: str) -> None:
    assert markdown.prose(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a | b", "a \\| b"),
        ("two\nlines  here", "two lines here"),
    ],
)
def test_cell_is_one_line_without_bare_pipes(text: str, expected: str) -> None:
    assert markdown.cell(text) == expected


@pytest.mark.parametrize(
    ("template", "parts", "problem"),
    [
        ("{{a}}", {}, "without a part ['a']"),
        ("none", {"a": "x"}, "parts unused ['a']"),
    ],
)
def test_fill_refuses_mismatched_placeholders(
    template: str, parts: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        markdown.fill(template, parts)


@pytest.mark.parametrize(
    ("help_text", "expected"),
    [
        ("Summary.\n\nMore words\non two lines.", "More words\non two lines."),
        (
            "Summary.\n\nExamples:\n  jobsink a\n  jobsink b \\\n      --c",
            "Examples:\n\n```bash\njobsink a\njobsink b \\\n    --c\n```",
        ),
        (
            "Summary.\n\nExamples:\n\n  jobsink a\n\n  # then\n  jobsink b",
            "Examples:\n\n```bash\njobsink a\n\n# then\njobsink b\n```",
        ),
        (
            "Summary.\n\nPOST /<ns>/<name> with `<kept>`.",
            "POST /&lt;ns&gt;/&lt;name&gt; with `<kept>`.",
        ),
    ],
    ids=["prose", "examples", "examples in blocks", "escaping"],
)
def test_help_text_becomes_markdown(help_text: str, expected: str) -> None:
    assert cli_reference.help_body(help_text) == expected


def test_every_cli_command_is_documented() -> None:
    from cli.main import app

    found = [command.path for command in cli_reference.commands(app, "jobsink")]
    assert "jobsink validate" in found
    assert "jobsink certs create" in found
    assert found == sorted(found)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"type": "string"}, "string"),
        ({"type": "integer", "format": "int32"}, "integer (int32)"),
        ({"type": "array", "items": {"type": "object"}}, "[]object"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "map[string]string"),
        ({"x-kubernetes-int-or-string": True}, "int or string"),
    ],
)
def test_schema_types_read_like_the_kubernetes_reference(
    node: dict[str, Any], expected: str
) -> None:
    assert crd_reference.type_of(node) == expected


def test_job_spec_is_listed_one_level_deep_and_status_fully() -> None:
    schema = {
        "properties": {
            "spec": {
                "properties": {
                    "job": {
                        "properties": {
                            "spec": {
                                "properties": {
                                    "template": {
                                        "type": "object",
                                        "properties": {"spec": {"type": "object"}},
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "status": {
                "properties": {
                    "conditions": {
                        "type": "array",
                        "items": {"properties": {"type": {"type": "string"}}},
                    }
                }
            },
        }
    }
    spec = [row.path for row in crd_reference.fields(schema, "spec")]
    status = [row.path for row in crd_reference.fields(schema, "status")]
    assert spec == ["spec.job", "spec.job.spec", "spec.job.spec.template"]
    assert status == ["status.conditions", "status.conditions[].type"]


# Settings classes covering each way pydantic-settings maps a field to the environment.


class Serving(BaseModel):
    port: int = Field(8080, ge=1, le=65535, description="the port")


class Certs(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_CERTS_")

    secret: str = "certs"


class Delimited(BaseSettings):
    """Nested groups through a delimiter."""

    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    serving: Serving = Serving()
    name: str = "app"


class OwnPrefix(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")

    certs: Certs = Field(default_factory=Certs)


class Aliased(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")

    namespace: str = Field(
        "default", validation_alias=AliasChoices("namespace", "APP_NAMESPACE", "SYSTEM_NAMESPACE")
    )


class JsonGroup(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")

    serving: Serving = Serving()


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (Delimited, {"serving.port": ("APP_SERVING__PORT",), "name": ("APP_NAME",)}),
        (OwnPrefix, {"certs.secret": ("APP_CERTS_SECRET",)}),
        # pydantic-settings reads every alias as a variable name, the field's own spelling too.
        (Aliased, {"namespace": ("APP_NAMESPACE", "NAMESPACE", "SYSTEM_NAMESPACE")}),
        (JsonGroup, {"serving.port": ("APP_SERVING",)}),
    ],
    ids=["nested delimiter", "nested settings class", "alias choices", "group as JSON"],
)
def test_environment_names_follow_pydantic_settings(
    cls: type[BaseSettings], expected: dict[str, tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = {setting.name: setting.env for setting in settings_reference.settings_of(cls)}
    assert found == expected
    _assert_every_variable_is_read(cls, monkeypatch)


def test_group_defaults_and_descriptions_are_kept() -> None:
    (port, _name) = settings_reference.settings_of(Delimited)
    assert (port.default, port.type, port.description) == (
        "`8080`",
        "integer, ≥ 1, ≤ 65535",
        "the port",
    )


def test_the_servers_settings_are_found_and_every_variable_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = settings_reference.discover(PACKAGES)
    modules = {cls.__module__ for cls in found}
    assert {"webhook.settings", "receiver.settings"} <= modules
    for cls in found:
        _assert_every_variable_is_read(cls, monkeypatch)


def _assert_every_variable_is_read(
    cls: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting each documented variable alone to a valid non-default value reaches the setting
    (or a model-level check that looked at it)."""
    for setting in settings_reference.settings_of(cls):
        field = settings_reference.field_at(cls, setting.name)
        text, value = _probe(field)
        if setting.env_note:
            key = setting.name.split(".", 1)[1]
            text = json.dumps({key: json.loads(text) if _is_json(text) else text})
        for name in setting.env:
            with monkeypatch.context() as env:
                for variable in [*setting.env, *_all_variables(cls)]:
                    env.delenv(variable, raising=False)
                env.setenv(name, text)
                settings, problems = _load(cls)
            if settings is None:
                assert all(not problem["loc"] for problem in problems), (name, problems)
            else:
                assert _attribute(settings, setting.name) == value, name


def _load(cls: type[BaseSettings]) -> tuple[BaseSettings | None, list[Any]]:
    try:
        return cls(), []
    except ValidationError as error:
        return None, list(error.errors())


def _all_variables(cls: type[BaseSettings]) -> list[str]:
    return [name for setting in settings_reference.settings_of(cls) for name in setting.env]


def _attribute(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _probe(field: FieldInfo) -> tuple[str, object]:
    """An environment value, valid for ``field`` and different from its default, and what it
    parses to."""
    annotation = _without_none(field.annotation)
    default = field.default
    if get_origin(annotation) is Literal:
        choice = next(c for c in get_args(annotation) if c != default)
        return str(choice), choice
    if annotation is bool:
        return str(not default).lower(), not default
    if annotation in (int, float):
        low, high = _bounds(field)
        start = default if isinstance(default, int | float) else low
        candidate = start + 1 if start + 1 <= high else start - 1
        return str(annotation(candidate)), annotation(candidate)
    if annotation is str:
        return "docgen-probe", "docgen-probe"
    if annotation is Path:
        return "/docgen/probe", Path("/docgen/probe")
    if get_origin(annotation) is list and get_args(annotation) == (IPvAnyAddress,):
        return '["127.0.0.2"]', [ip_address("127.0.0.2")]
    raise AssertionError(f"no probe value for {annotation!r}: add one here")


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _bounds(field: FieldInfo) -> tuple[float, float]:
    low, high = 0.0, 1e9
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)  # type: ignore[arg-type]
        if isinstance(item, annotated_types.Gt):
            low = float(item.gt) + 1  # type: ignore[arg-type]
        if isinstance(item, annotated_types.Le):
            high = float(item.le)  # type: ignore[arg-type]
        if isinstance(item, annotated_types.Lt):
            high = float(item.lt) - 0.5  # type: ignore[arg-type]
    return low, high


# Exit codes: each member's meaning is the #: comment above it.


class Explained(enum.IntEnum):
    #: All went well.
    OK = 0
    #: Interrupted: the user
    #: pressed Ctrl-C.
    INTERRUPTED = 130
    #: Nothing | answered <ever>.
    UNREACHABLE = 3


class Unexplained(enum.IntEnum):
    #: All went well.
    OK = 0
    FAILED = 1


class Annotated:
    #: an annotated attribute
    port: int = 1
    plain = 2
    #: a plain attribute
    named = 3


def test_doc_comments_are_read_above_plain_and_annotated_attributes() -> None:
    assert doc_comments(Annotated) == {
        "port": "an annotated attribute",
        "named": "a plain attribute",
    }


def test_exit_codes_are_listed_in_numeric_order_with_their_comments() -> None:
    assert exit_code_table(Explained).splitlines() == [
        "| Code | Name | Meaning |",
        "|---|---|---|",
        "| `0` | `OK` | All went well. |",
        "| `3` | `UNREACHABLE` | Nothing \\| answered &lt;ever&gt;. |",
        "| `130` | `INTERRUPTED` | Interrupted: the user pressed Ctrl-C. |",
    ]


def test_an_exit_code_without_a_comment_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Unexplained members without a #: comment: \['FAILED'\]"):
        exit_code_table(Unexplained)
