"""The wheelhouse: what it must hold, the wheels pip may pick, and serving it on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from controlplane.image.project import ROOT
from controlplane.image.wheelhouse import (
    PORT_RANGE,
    Target,
    download_argv,
    preferred_port,
    requirements,
    served,
    wheelhouse_key,
)

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
[project]
dependencies = ["typer==0.29.1", "uvicorn[standard]==0.54.0"]
"""


def test_the_requirements_are_the_dependencies_and_the_build_backend() -> None:
    assert requirements(PYPROJECT) == [
        "setuptools>=77",
        "typer==0.29.1",
        "uvicorn[standard]==0.54.0",
    ]


def test_this_projects_requirements_are_all_pinned_but_the_backend() -> None:
    wanted = requirements((ROOT / "pyproject.toml").read_text())
    assert [line for line in wanted if "==" not in line] == ["setuptools>=77"]


def test_bookworm_glibc_takes_every_older_manylinux_and_nothing_newer() -> None:
    platforms = Target().platforms()
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"} <= set(
        platforms
    )
    assert "manylinux_2_37_x86_64" not in platforms


@pytest.mark.parametrize(
    "other",
    [
        (["setuptools>=77", "typer==0.29.2"], Target()),
        (["setuptools>=77", "typer==0.29.1"], Target(python_version="3.12")),
        (["setuptools>=77", "typer==0.29.1"], Target(glibc=(2, 28))),
    ],
)
def test_the_wheelhouse_key_follows_requirements_and_target(
    other: tuple[list[str], Target],
) -> None:
    wanted = ["setuptools>=77", "typer==0.29.1"]
    assert wheelhouse_key(wanted, Target()) == wheelhouse_key(list(reversed(wanted)), Target())
    assert wheelhouse_key(wanted, Target()) != wheelhouse_key(*other)


def test_pip_downloads_wheels_only_for_the_images_interpreter() -> None:
    argv = download_argv("/venv/bin/python", ["typer==0.29.1"], Target(), Path("/dest"))
    assert argv[:4] == ["/venv/bin/python", "-m", "pip", "download"]
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--python-version") + 1] == "3.11"
    assert argv[argv.index("--dest") + 1] == "/dest"
    assert argv[-1] == "typer==0.29.1"


def test_the_port_is_stable_for_one_wheelhouse() -> None:
    port = preferred_port(Path("/x/wheelhouse-0123"))
    assert port == preferred_port(Path("/y/wheelhouse-0123"))
    assert PORT_RANGE[0] <= port < PORT_RANGE[1]


def _get(url: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        return client.get(url)


def test_the_wheelhouse_is_listed_and_served_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "typer-0.29.1-py3-none-any.whl").write_bytes(b"wheel")
    with served(tmp_path) as url:
        assert url.startswith("http://127.0.0.1:")
        assert "typer-0.29.1-py3-none-any.whl" in _get(url).text
        assert _get(url + "typer-0.29.1-py3-none-any.whl").content == b"wheel"
    with pytest.raises(httpx.ConnectError):
        _get(url)


def test_a_taken_port_falls_back_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", preferred_port(tmp_path)))
        taken.listen()
        with served(tmp_path) as url:
            assert url != f"http://127.0.0.1:{preferred_port(tmp_path)}/"
            assert _get(url).status_code == 200
