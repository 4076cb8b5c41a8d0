"""The base image ``make image`` builds on: Python 3.11 from Debian bookworm's own packages.

Users with Docker build on the pinned ``python:3.11.14-slim-bookworm``; no registry is
reachable here, so the same Dockerfile is given this base instead (``BASE_IMAGE``). It holds
what the Dockerfile and the running app use of the slim image: a ``python`` on PATH that can
``-m venv`` with pip (Debian's ensurepip wheels), ``/bin/sh`` for ``RUN``, the CA bundle and a
world-writable ``/tmp``. Its Python is bookworm's 3.11 patch release, not 3.11.14.
"""

from __future__ import annotations

from pathlib import Path

from controlplane.binaries import Progress
from controlplane.node.images import PATH_ENV, DebianImage, ensure_archive, package_files

BASE_REFERENCE = "localhost/jobsink/python:3.11-bookworm"
BASE_PACKAGES = ("python3.11", "python3.11-venv", "python-is-python3", "dash", "ca-certificates")
BASE_ENV = (PATH_ENV, "LANG=C.UTF-8")


def base_image(files: str) -> DebianImage:
    """The image for ``files`` (:func:`package_files` of :data:`BASE_PACKAGES`): a new
    Debian update of any of them makes a new archive."""
    return DebianImage(BASE_REFERENCE, BASE_PACKAGES, ("python3",), env=BASE_ENV, content=files)


def ensure_base_image(say: Progress) -> tuple[DebianImage, Path]:
    """The base image and its cached OCI archive, assembled first when absent."""
    image = base_image(package_files(BASE_PACKAGES))
    return image, ensure_archive(image, say)
