"""Server settings from command-line flags over environment variables, or one usage error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from cli.exits import ExitCode, fail

S = TypeVar("S", bound=BaseSettings)


def load(settings: type[S], flags: Mapping[str, Any]) -> S:
    """``settings`` from the environment, overridden by the flags given (``None``: not given).

    A group of settings (a field that is itself a ``BaseSettings``) takes its flags as a mapping
    and reads the rest of its variables itself. An invalid value ends the command with
    ``error: <group>.<field> (<VARIABLE>): <problem>`` and exit code 2.
    """
    return _build(settings, flags, ())


def _build(settings: type[S], flags: Mapping[str, Any], path: tuple[str, ...]) -> S:
    values: dict[str, Any] = {}
    for name, field in settings.model_fields.items():
        given = flags.get(name)
        group = _group(field)
        if group is not None:
            values[name] = _build(group, given or {}, (*path, name))
        elif given is not None:
            values[name] = given
    try:
        return settings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        loc = [str(part) for part in first["loc"]]
        if loc:
            loc[0] = _field_named(settings, loc[0])
        where = ".".join([*path, *loc]) or "settings"
        variable = _variable(settings, loc[0]) if len(loc) == 1 else None
        fail(f"{where}{f' ({variable})' if variable else ''}: {first['msg']}", ExitCode.USAGE)


def _group(field: FieldInfo) -> type[BaseSettings] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
        return annotation
    return None


def _field_named(settings: type[BaseSettings], key: str) -> str:
    """The field an error is about: errors on a value read through an alias name the alias."""
    for name, field in settings.model_fields.items():
        if key in _aliases(field):
            return name
    return key


def _aliases(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return []


def _variable(settings: type[BaseSettings], name: str) -> str | None:
    """The environment variable a field reads (its alias, or prefix + name)."""
    field = settings.model_fields.get(name)
    if field is None:
        return None
    aliases = _aliases(field)
    if aliases:
        return aliases[0]
    prefix = settings.model_config.get("env_prefix") or ""
    return (prefix + name).upper()


def option_help(settings: type[BaseSettings], name: str, text: str) -> str:
    """A flag's help: ``text``, then the setting's default and variable, read from the model so
    that neither is written twice."""
    field = settings.model_fields[name]
    default = field.get_default(call_default_factory=False)
    shown = ("on" if default else "off") if isinstance(default, bool) else default
    variable = _variable(settings, name)
    return f"{text} ({variable})." if default is None else f"{text} (default {shown}; {variable})."
