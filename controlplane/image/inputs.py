"""What a project image is built from, and the key its archive is cached under (pure).

The build context is exactly what ``.dockerignore`` lets in (its ``!`` lines), so the key
covers every file the Dockerfile can copy: change one and the next ``make image`` builds.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from pathlib import Path

REPOSITORY = "localhost/jobsink/jobsink"
IGNORED_PARTS = ("__pycache__",)
IGNORED_SUFFIXES = (".pyc",)


def project_version(pyproject_text: str) -> str:
    version: str = tomllib.loads(pyproject_text)["project"]["version"]
    return version


def reference_for(version: str) -> str:
    return f"{REPOSITORY}:{version}"


def admitted(dockerignore_text: str) -> list[str]:
    """The paths a ``*``-then-``!path`` ``.dockerignore`` lets into the context."""
    lines = [line.strip() for line in dockerignore_text.splitlines()]
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def context_files(root: Path) -> list[Path]:
    """Every file of the build context, relative to ``root``, sorted."""
    files: list[Path] = []
    for entry in admitted((root / ".dockerignore").read_text()):
        path = root / entry
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [
            candidate.relative_to(root)
            for candidate in candidates
            if candidate.is_file()
            and not any(part in IGNORED_PARTS for part in candidate.parts)
            and candidate.suffix not in IGNORED_SUFFIXES
        ]
    return sorted(files)


def inputs_key(root: Path, others: Iterable[str]) -> str:
    """A digest of the Dockerfile, ``.dockerignore``, the context's files (names and bytes)
    and ``others`` (the base image, the wheelhouse and the builder's version)."""
    digest = hashlib.sha256()
    for name in (Path("Dockerfile"), Path(".dockerignore"), *context_files(root)):
        digest.update(f"{name}\0".encode())
        digest.update(hashlib.sha256((root / name).read_bytes()).digest())
    for other in others:
        digest.update(f"{other}\0".encode())
    return digest.hexdigest()[:16]


def buildctl_build_args(
    *, context: Path, base: str, wheelhouse_url: str, reference: str, dest: Path
) -> list[str]:
    """``buildctl build`` arguments: the Dockerfile's built-in frontend, ``FROM`` resolved only
    from the worker's local image store, host networking for ``RUN`` (the wheelhouse is on the
    host's loopback), and an OCI archive named ``reference`` as the result."""
    return [
        "build",
        "--frontend=dockerfile.v0",
        f"--local=context={context}",
        f"--local=dockerfile={context}",
        f"--opt=build-arg:BASE_IMAGE={base}",
        f"--opt=build-arg:PIP_FIND_LINKS={wheelhouse_url}",
        "--opt=build-arg:PIP_NO_INDEX=1",
        "--opt=image-resolve-mode=local",
        "--opt=force-network-mode=host",
        "--allow=network.host",
        f"--output=type=oci,dest={dest},name={reference}",
        "--progress=plain",
    ]
