"""The CloudEvents Python SDK's reader as an image, built by BuildKit from
``python_reader/Dockerfile`` on the local Debian python base, exactly as ``make image`` builds
the project's: the base imported into the build's containerd, pip reading a wheelhouse on
loopback. Cached in ``~/.cache/jobsink/images`` under a key of its inputs."""

from __future__ import annotations

import os
from pathlib import Path

from controlplane.binaries import Progress
from controlplane.image.base import ensure_base_image
from controlplane.image.binaries import BUILDKIT_VERSION, ensure_buildkit
from controlplane.image.daemons import running
from controlplane.image.inputs import buildctl_build_args, inputs_key
from controlplane.image.layout import BuildLayout
from controlplane.image.project import _build, _exclusive, _import, archive_path, state_dir
from controlplane.image.wheelhouse import ensure_wheelhouse, served
from controlplane.node.binaries import ensure_node_binaries

CONTEXT = Path(__file__).parent / "python_reader"
REFERENCE = "localhost/jobsink-test/cloudevents-python-reader:2.2.0"


def ensure_python_reader(say: Progress) -> Path:
    """The reader image's OCI archive, named :data:`REFERENCE`; built first when absent."""
    node = ensure_node_binaries(say)
    buildkit = ensure_buildkit(say)
    base, base_archive = ensure_base_image(say)
    wheelhouse = ensure_wheelhouse(state_dir(), CONTEXT / "pyproject.toml", say)
    key = inputs_key(CONTEXT, [base_archive.name, wheelhouse.name, BUILDKIT_VERSION])
    archive = archive_path(REFERENCE, key)
    layout = BuildLayout(state_dir(), str(os.getpid()))
    with _exclusive(layout.lock):
        if archive.exists():
            return archive
        with running(layout, node, buildkit, say) as daemons, served(wheelhouse) as url:
            _import(daemons.ctr_argv("images", "import", "--local", str(base_archive)))
            partial = archive.with_suffix(".partial")
            args = buildctl_build_args(context=CONTEXT, base=base.reference, wheelhouse_url=url,
                                       reference=REFERENCE, dest=partial)  # fmt: skip
            try:
                _build(daemons, CONTEXT, args, layout.logs / "python-reader.log", say)
                partial.chmod(0o644)
                partial.replace(archive)
            finally:
                partial.unlink(missing_ok=True)
    return archive
