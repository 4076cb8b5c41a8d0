"""The CLI reference, from the typer application's command tree.

Everything comes from the commands themselves (help texts, options, defaults, environment
variables), so the page cannot drift from ``jobsink --help``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import typer
import typer.main
from typer.core import TyperArgument, TyperGroup

from docgen.markdown import code, prose, table


@dataclass(frozen=True)
class Command:
    """One runnable command: its full name (``jobsink certs create``) and its context."""

    path: str
    ctx: typer.Context

    @property
    def help(self) -> str:
        return self.ctx.command.help or ""


def commands(app: typer.Typer, name: str) -> list[Command]:
    """Every leaf command under ``app``, sorted by full name."""
    root = typer.main.get_command(app)
    found = list(_walk(typer.Context(root, info_name=name), name))
    return sorted(found, key=lambda command: command.path)


def _walk(ctx: typer.Context, path: str) -> Iterator[Command]:
    group = ctx.command
    if not isinstance(group, TyperGroup):
        yield Command(path, ctx)
        return
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(typer.Context(sub, info_name=name, parent=ctx), f"{path} {name}")


def summary(command: Command) -> str:
    """The first paragraph of the help: what the command is for, in one line."""
    return " ".join(command.help.strip().split("\n\n")[0].split())


def usage(command: Command) -> str:
    pieces = [command.path, "[OPTIONS]"]
    for param in command.ctx.command.params:
        if isinstance(param, TyperArgument):
            token = (param.name or "arg").upper() + ("..." if param.nargs == -1 else "")
            pieces.append(token if param.required else f"[{token}]")
    return " ".join(pieces)


def help_body(text: str) -> str:
    """The help text after its first paragraph, as Markdown.

    Help texts are written for a terminal: indented lines (examples) become one code block, other
    lines prose. Blank lines between indented runs stay inside the code block.
    """
    blocks = [block for block in text.strip().split("\n\n")[1:] if block.strip()]
    out: list[str] = []
    pending_code: list[str] = []

    def flush_code() -> None:
        if pending_code:
            body = textwrap.dedent("\n".join(pending_code)).strip("\n")
            out.append(f"```bash\n{body}\n```")
            pending_code.clear()

    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip() != "\b"]
        head = [line for line in _until_indented(lines)]
        tail = lines[len(head) :]
        if head:
            flush_code()
            out.append(prose("\n".join(line.strip() for line in head)))
        if tail:
            if pending_code:
                pending_code.append("")
            pending_code.extend(tail)
    flush_code()
    return "\n\n".join(out)


def _until_indented(lines: list[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith((" ", "\t")):
            return
        yield line


def parameter_tables(command: Command) -> str:
    arguments: list[list[str]] = []
    options: list[list[str]] = []
    for param in command.ctx.command.params:
        if param.name == "help":
            continue
        record = param.get_help_record(command.ctx)
        if record is None:
            continue
        names, text = record
        if isinstance(param, TyperArgument):
            token = (param.name or "arg").upper() + ("..." if param.nargs == -1 else "")
            arguments.append([code(token), prose(text)])
        else:
            options.append([code(names), prose(text)])
    parts = []
    if arguments:
        parts.append(table(["Argument", "Description"], arguments))
    if options:
        parts.append(table(["Option", "Description"], options))
    return "\n\n".join(parts)


def command_section(command: Command) -> str:
    parts = [
        f"## {code(command.path)}",
        prose(summary(command)),
        f"```text\n{usage(command)}\n```",
        help_body(command.help),
        parameter_tables(command),
    ]
    return "\n\n".join(part for part in parts if part)


def overview(found: list[Command]) -> str:
    rows = [[f"[{code(c.path)}](#{anchor(c.path)})", prose(summary(c))] for c in found]
    return table(["Command", "What it does"], rows)


def anchor(path: str) -> str:
    """The heading id Python-Markdown's toc gives ``## `jobsink certs create` ``."""
    return "-".join(path.split())


def render(app: typer.Typer, name: str) -> dict[str, str]:
    """The parts of the CLI page: the overview table and one section per command."""
    found = commands(app, name)
    return {
        "overview": overview(found),
        "commands": "\n\n".join(command_section(command) for command in found),
    }
