"""Server settings from command-line flags over environment variables, or one usage error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from cli.exits import ExitCode, fail

S = TypeVar("S", bound=BaseSettings)


def load(settings: type[S], flags: Mapping[str, Any]) -> S:
    """``settings`` from the environment, overridden by the flags given (``None``: not given).

    An invalid value ends the command with ``error: <field>: <problem>`` and exit code 2.
    """
    try:
        return settings(**{key: value for key, value in flags.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"{field}: {first['msg']}", ExitCode.USAGE)
