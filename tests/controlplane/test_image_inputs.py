"""The project image's build inputs: the context .dockerignore admits, the cache key, buildctl."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from controlplane.image.inputs import (
    admitted,
    buildctl_build_args,
    context_files,
    inputs_key,
    project_version,
    reference_for,
)
from controlplane.image.project import (
    ROOT,
    archive_path,
    latest_pointer,
    project_reference,
    prune_archives,
)

DOCKERIGNORE = """\
# only what the image needs
*
!pyproject.toml
!pkg/
**/__pycache__
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    for name, text in {
        "Dockerfile": "FROM scratch\n",
        ".dockerignore": DOCKERIGNORE,
        "pyproject.toml": '[project]\nname = "x"\nversion = "1.2.3"\n',
        "pkg/__init__.py": "",
        "pkg/sub/mod.py": "x = 1\n",
        "pkg/__pycache__/mod.cpython-311.pyc": "compiled",
        "pkg/sub/stale.pyc": "compiled",
        "notes.txt": "not in the context",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_admitted_paths_are_the_negated_lines() -> None:
    assert admitted(DOCKERIGNORE) == ["pyproject.toml", "pkg"]


def test_the_context_is_what_dockerignore_admits_without_bytecode(context: Path) -> None:
    assert context_files(context) == [
        Path("pkg/__init__.py"), Path("pkg/sub/mod.py"), Path("pyproject.toml"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "text", "changes"),
    [
        ("pkg/sub/mod.py", "x = 2\n", True),
        ("Dockerfile", "FROM scratch\nUSER 1\n", True),
        ("pkg/new.py", "", True),
        ("notes.txt", "edited", False),
        ("pkg/__pycache__/mod.cpython-311.pyc", "recompiled", False),
    ],
)
def test_the_key_follows_exactly_the_files_the_build_can_read(
    context: Path, path: str, text: str, changes: bool
) -> None:
    before = inputs_key(context, ["base-a.tar"])
    (context / path).write_text(text)
    assert (inputs_key(context, ["base-a.tar"]) != before) is changes


def test_the_key_follows_the_base_and_wheelhouse(context: Path) -> None:
    assert inputs_key(context, ["base-a.tar"]) != inputs_key(context, ["base-b.tar"])


def test_the_reference_is_local_and_carries_the_project_version(context: Path) -> None:
    assert project_version((context / "pyproject.toml").read_text()) == "1.2.3"
    assert reference_for("1.2.3") == "localhost/jobsink/jobsink:1.2.3"
    assert project_reference(ROOT).startswith("localhost/jobsink/jobsink:")
    assert latest_pointer("localhost/jobsink/jobsink:1.2.3").name == (
        "localhost_jobsink_jobsink_1.2.3-latest.tar"
    )


def test_this_repository_context_holds_every_package() -> None:
    tops = {path.parts[0] for path in context_files(ROOT)}
    assert {"jobsink", "receiver", "webhook", "cli", "pyproject.toml", "README.md"} <= tops
    assert not any(path.suffix == ".pyc" for path in context_files(ROOT))


@pytest.mark.parametrize(
    "expected",
    [
        "--frontend=dockerfile.v0",
        "--local=context=/src",
        "--local=dockerfile=/src",
        "--opt=build-arg:BASE_IMAGE=localhost/jobsink/python:3.11-bookworm",
        "--opt=build-arg:PIP_FIND_LINKS=http://127.0.0.1:20001/",
        "--opt=build-arg:PIP_NO_INDEX=1",
        # FROM only from the worker's image store, and RUN on the host's network: the
        # wheelhouse is on the host's loopback.
        "--opt=image-resolve-mode=local",
        "--opt=force-network-mode=host",
        "--allow=network.host",
        "--output=type=oci,dest=/out/x.partial,name=localhost/jobsink/jobsink:1.2.3",
    ],
)
def test_buildctl_arguments(expected: str) -> None:
    args = buildctl_build_args(
        context=Path("/src"),
        base="localhost/jobsink/python:3.11-bookworm",
        wheelhouse_url="http://127.0.0.1:20001/",
        reference="localhost/jobsink/jobsink:1.2.3",
        dest=Path("/out/x.partial"),
    )
    assert args[0] == "build"
    assert expected in args


def test_older_archives_are_pruned_to_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path))
    reference = "localhost/jobsink/jobsink:1.2.3"
    images = tmp_path / "images"
    images.mkdir()
    archives = [archive_path(reference, key) for key in ("a", "b", "c", "d")]
    for age, archive in enumerate(archives):
        archive.write_bytes(b"image")
        os.utime(archive, (1000 + age, 1000 + age))
    other = archive_path("localhost/jobsink/python:3.11", "a")
    other.write_bytes(b"base")
    latest_pointer(reference).symlink_to(archives[1].name)
    prune_archives(reference, keep=archives[1])
    assert sorted(path.name for path in images.iterdir()) == sorted(
        [archives[1].name, archives[3].name, other.name, latest_pointer(reference).name]
    )
