"""The settings tables, from the pydantic-settings classes of the servers.

Written against pydantic-settings' rules rather than any one class, so a settings class that grows
nested groups keeps its table: nested models are walked recursively, and each environment variable
name is derived the way pydantic-settings derives it (prefix, aliases, nested delimiter).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from docgen.comments import doc_comments
from docgen.markdown import code, prose, table


@dataclass(frozen=True)
class Setting:
    """One leaf setting: where it lives, how to set it, what it is."""

    name: str  # dotted path from the top-level class, e.g. ``certs.resync_seconds``
    env: tuple[str, ...]  # environment variables that set it, preferred first
    env_note: str  # how a value in ``env`` is read when not as itself (JSON of a group)
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class _Env:
    """How a model's fields map to environment variables."""

    prefix: str
    delimiter: str | None
    case_sensitive: bool
    json_parent: str | None = None  # set when the fields only travel inside a parent's JSON
    json_path: tuple[str, ...] = ()


def discover(packages: Sequence[str]) -> list[type[BaseSettings]]:
    """The top-level settings classes defined in ``packages``: every ``BaseSettings`` subclass that
    is not itself a nested group of another one. Sorted by module, then class name."""
    found: dict[str, type[BaseSettings]] = {}
    for package in packages:
        for module in _modules(package):
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseSettings)
                    and value is not BaseSettings
                    and value.__module__ == module.__name__
                ):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    nested = {
        f"{group.__module__}.{group.__qualname__}"
        for cls in found.values()
        for group in _nested_models(cls)
    }
    return [found[key] for key in sorted(found) if key not in nested]


def _modules(package: str) -> Iterator[types.ModuleType]:
    root = importlib.import_module(package)
    yield root
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        # A __main__ module runs its program when imported.
        if info.name.rsplit(".", 1)[-1] != "__main__":
            yield importlib.import_module(info.name)


def _nested_models(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for field in cls.model_fields.values():
        model = _model_of(field.annotation)
        if model is not None:
            yield model
            yield from _nested_models(model)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field typed ``Model`` or ``Model | None``, else None."""
    candidates = [annotation] if get_origin(annotation) is None else list(get_args(annotation))
    if get_origin(annotation) not in (None, Union, types.UnionType):
        return None
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if len(models) == 1 else None


def settings_of(cls: type[BaseSettings]) -> list[Setting]:
    """Every leaf setting of ``cls``, in declaration order, nested groups in place."""
    return list(_leaves(cls, _env_of(cls), path=(), defaults=None))


def _env_of(cls: type[BaseSettings]) -> _Env:
    config = cls.model_config
    return _Env(
        prefix=str(config.get("env_prefix") or ""),
        delimiter=config.get("env_nested_delimiter") or None,
        case_sensitive=bool(config.get("case_sensitive", False)),
    )


def _leaves(
    cls: type[BaseModel], env: _Env, path: tuple[str, ...], defaults: BaseModel | None
) -> Iterator[Setting]:
    comments = doc_comments(cls)
    for name, field in cls.model_fields.items():
        dotted = (*path, name)
        names = _env_names(name, field, env)
        model = _model_of(field.annotation)
        if model is not None:
            yield from _leaves(
                model, _group_env(model, names, env, name), dotted, _group_default(field, model)
            )
            continue
        default = getattr(defaults, name) if defaults is not None else _default(field)
        yield Setting(
            name=".".join(dotted),
            env=names if env.json_parent is None else (env.json_parent,),
            env_note=_json_note(env, name),
            type=_type_text(field),
            default=_value(default),
            description=field.description or comments.get(name, ""),
        )


def _env_names(name: str, field: FieldInfo, env: _Env) -> tuple[str, ...]:
    """The variables pydantic-settings reads for one field: its aliases verbatim (no prefix), or
    the prefix plus the field name."""
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        raw = [alias]
    elif isinstance(alias, AliasChoices):
        raw = [c if isinstance(c, str) else str(c.path[0]) for c in alias.choices]
    elif isinstance(alias, AliasPath):
        raw = [str(alias.path[0])]
    else:
        raw = [env.prefix + name]
    names = raw if env.case_sensitive else [value.upper() for value in raw]
    # The prefixed spelling is the one the Deployments use: list it first.
    ordered = sorted(
        dict.fromkeys(names), key=lambda value: not value.startswith(env.prefix.upper())
    )
    return tuple(ordered)


def _group_env(model: type[BaseModel], names: tuple[str, ...], parent: _Env, field: str) -> _Env:
    if parent.json_parent is not None:
        return _Env("", None, parent.case_sensitive, parent.json_parent, (*parent.json_path, field))
    if parent.delimiter:
        # pydantic-settings splits PARENT<delimiter>CHILD: the group's fields hang off its name.
        return _Env(names[0] + parent.delimiter, parent.delimiter, parent.case_sensitive)
    if issubclass(model, BaseSettings):
        # Built by its default factory, a nested settings class reads its own prefix.
        return _env_of(model)
    # Without a delimiter a plain model group is only read as JSON from the parent's variable.
    return _Env("", None, parent.case_sensitive, names[0], (field,))


def _json_note(env: _Env, name: str) -> str:
    if env.json_parent is None:
        return ""
    keys = ".".join((*env.json_path[1:], name))
    return f"JSON key {keys}"


def _group_default(field: FieldInfo, model: type[BaseModel]) -> BaseModel | None:
    """The group's default instance, when it can be built without reading the environment (a
    nested ``BaseSettings`` would read it, so its class defaults are used instead)."""
    if issubclass(model, BaseSettings):
        return None
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    return value if isinstance(value, BaseModel) else None


def _default(field: FieldInfo) -> object:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return _REQUIRED
    return field.default


_REQUIRED = object()


def _value(value: object) -> str:
    if value is _REQUIRED:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return code(str(value).lower())
    if isinstance(value, Enum):
        return code(str(value.value))
    if isinstance(value, PurePath | str):
        return code(str(value)) if str(value) else '`""`'
    if isinstance(value, list | tuple | set | frozenset):
        return code("[" + ", ".join(str(item) for item in value) + "]")
    return code(str(value))


def _type_text(field: FieldInfo) -> str:
    text = _annotation_text(field.annotation)
    bounds = [_bound(item) for item in field.metadata]
    return ", ".join([text, *[bound for bound in bounds if bound]])


def _annotation_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        choices = [code(str(arg)) for arg in get_args(annotation)]
        return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    if origin in (Union, types.UnionType):
        parts = [arg for arg in get_args(annotation) if arg is not type(None)]
        text = " or ".join(_annotation_text(arg) for arg in parts)
        return f"{text} (optional)" if len(parts) < len(get_args(annotation)) else text
    if origin in (list, tuple, set, frozenset):
        args = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        inner = _annotation_text(args[0]) if args else "value"
        return f"list of {inner}"
    if isinstance(annotation, type):
        return _TYPE_NAMES.get(annotation.__name__, annotation.__name__)
    return str(annotation)


_TYPE_NAMES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "Path": "path",
    "IPvAnyAddress": "IP address",
}


def _bound(item: object) -> str:
    if isinstance(item, annotated_types.Ge):
        return f"≥ {item.ge}"
    if isinstance(item, annotated_types.Gt):
        return f"> {item.gt}"
    if isinstance(item, annotated_types.Le):
        return f"≤ {item.le}"
    if isinstance(item, annotated_types.Lt):
        return f"< {item.lt}"
    return ""


def settings_table(
    cls: type[BaseSettings], flags: Mapping[str, str], flag_help: Mapping[str, str]
) -> str:
    """The table of ``cls``. ``flags`` maps setting names to the command-line flag that sets it,
    ``flag_help`` to that flag's help, which describes a setting whose code gives no description.
    """
    rows = []
    for setting in settings_of(cls):
        description = setting.description or _without_default_and_env(flag_help.get(setting.name))
        env = "<br>".join(code(name) for name in setting.env)
        if setting.env_note:
            env += f" ({setting.env_note})"
        rows.append(
            [
                code(setting.name),
                env,
                code(flags[setting.name]) if setting.name in flags else "",
                setting.type,
                setting.default,
                prose(description),
            ]
        )
    return table(["Setting", "Environment", "Flag", "Type", "Default", "Description"], rows)


#: A flag's help ends with "(default X; ENV_VAR)": the table has columns for both.
_DEFAULT_AND_ENV = re.compile(r"\s*\((?:[^()]*(?:default|JOBSINK_)[^()]*)\)")


def _without_default_and_env(text: str | None) -> str:
    return _DEFAULT_AND_ENV.sub("", text or "").strip()


def field_at(cls: type[BaseModel], dotted: str) -> FieldInfo:
    """The field a setting name (``certs.resync_seconds``) refers to."""
    head, _, rest = dotted.partition(".")
    field = cls.model_fields[head]
    if not rest:
        return field
    model = _model_of(field.annotation)
    if model is None:
        raise KeyError(dotted)
    return field_at(model, rest)
