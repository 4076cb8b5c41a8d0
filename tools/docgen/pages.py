"""The generated pages: which file, from which template, filled by which generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
import yaml
from pydantic_settings import BaseSettings
from typer.core import TyperArgument

from docgen import cli_reference, crd_reference, settings_reference
from docgen.exit_codes import exit_code_table
from docgen.markdown import code, fill, prose

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Our packages, searched for settings classes.
PACKAGES = ("jobsink", "webhook", "receiver", "certs", "kubeapi", "controlplane", "cli")
CLI_NAME = "jobsink"
JOB_SPEC_LINK = (
    "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/#JobSpec"
)


def _app() -> typer.Typer:
    from cli.main import app

    assert isinstance(app, typer.Typer)
    return app


def cli_page() -> str:
    from cli.exits import ExitCode

    parts = cli_reference.render(_app(), CLI_NAME)
    parts["exit_codes"] = exit_code_table(ExitCode)
    return fill(_template("cli.md"), parts)


def settings_page() -> str:
    commands = {c.path: c for c in cli_reference.commands(_app(), CLI_NAME)}
    sections = []
    for cls in settings_reference.discover(PACKAGES):
        package = cls.__module__.split(".")[0]
        command = commands.get(f"{CLI_NAME} {package}")
        title = code(command.path) if command else code(f"{cls.__module__}.{cls.__qualname__}")
        intro = prose(" ".join((cls.__doc__ or "").split()))
        flags, flag_help = _flags(cls, command) if command else ({}, {})
        if command:
            link = f"[{code(command.path)}](cli.md#{cli_reference.anchor(command.path)})"
            intro = (intro + " " if intro else "") + f"Read by {link}; a flag given wins."
        table = settings_reference.settings_table(cls, flags, flag_help)
        sections.append("\n\n".join(part for part in (f"## {title}", intro, table) if part))
    return fill(_template("settings.md"), {"settings": "\n\n".join(sections)})


def _flags(
    cls: type[BaseSettings], command: cli_reference.Command
) -> tuple[dict[str, str], dict[str, str]]:
    """Setting name -> flag and -> the flag's help, for the options of ``command`` named like a
    setting (exactly, or like a leaf whose name no other leaf shares)."""
    names = [setting.name for setting in settings_reference.settings_of(cls)]
    leaves: dict[str, list[str]] = {}
    for name in names:
        leaves.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    found: dict[str, str] = {}
    helps: dict[str, str] = {}
    for param in command.ctx.command.params:
        if isinstance(param, TyperArgument) or not param.name or param.name == "help":
            continue
        if param.name in names:
            setting = param.name
        elif len(leaves.get(param.name, [])) == 1:
            setting = leaves[param.name][0]
        else:
            continue
        found[setting] = " / ".join([*param.opts, *param.secondary_opts])
        helps[setting] = getattr(param, "help", None) or ""
    return found, helps


def api_page() -> str:
    crd = yaml.safe_load((REPO / "crds" / "jobsink.yaml").read_text(encoding="utf-8"))
    return fill(_template("jobsink-fields.md"), crd_reference.render(crd, JOB_SPEC_LINK))


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


#: Page path (relative to the repository) -> its generator.
PAGES: dict[str, Callable[[], str]] = {
    "docs/reference/cli.md": cli_page,
    "docs/reference/settings.md": settings_page,
    "docs/reference/jobsink-fields.md": api_page,
}


def generate() -> dict[str, str]:
    """Every generated page's text, keyed by its path relative to the repository."""
    return {path: _final(render()) for path, render in PAGES.items()}


def _final(text: str) -> str:
    return text.rstrip("\n") + "\n"
