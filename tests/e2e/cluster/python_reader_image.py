"""The CloudEvents Python SDK's reader as an image, built by BuildKit from
``python_reader/Dockerfile`` on the local Debian python base, exactly as ``make image`` builds
the project's: the base imported into the build's containerd, pip reading a wheelhouse on
loopback. Cached in ``~/.cache/jobsink/images`` under a key of its inputs."""

from __future__ import annotations

from pathlib import Path

from controlplane.binaries import Progress
from controlplane.image.project import build_archive

CONTEXT = Path(__file__).parent / "python_reader"
REFERENCE = "localhost/jobsink-test/cloudevents-python-reader:2.2.0"


def ensure_python_reader(say: Progress) -> Path:
    """The reader image's OCI archive, named :data:`REFERENCE`; built first when absent."""
    archive, _ = build_archive(CONTEXT, REFERENCE, say, log_name="python-reader.log")
    return archive
