"""Images for Knative's Deployments: one per command, as ``ko`` would build them.

Knative's config/ names its images ``ko://knative.dev/eventing/cmd/<command>``; its release
replaces them with images that ``ko`` builds: the binary at ``/ko-app/<name>`` as the
entrypoint, ``KO_DATA_PATH=/var/run/ko``, run as the distroless ``nonroot`` user (65532; every
Knative container says ``runAsNonRoot: true``, which the kubelet refuses for an image without a
numeric non-root user). Ours are laid out the same way, one static binary per image and nothing
else (Knative's components need no shell, no CA bundle: they talk to the apiserver with the
service account's CA and to each other in plain HTTP), under ``localhost/jobsink/knative-*``
references tagged with the module version, so the kubelet's ``IfNotPresent`` finds them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from controlplane.knative.binaries import KNATIVE_VERSION, KnativeFiles, binary_name
from controlplane.node.oci import RunConfig, image_archive, layer_from_directory

KO_PREFIX = "ko://knative.dev/eventing/cmd/"
NONROOT_UID = "65532"
KO_ENV = (
    "PATH=/usr/local/bin:/usr/bin:/bin:/ko-app",
    "KO_DATA_PATH=/var/run/ko",
)


def image_reference(command: str) -> str:
    """``in_memory/channel_dispatcher`` -> ``localhost/jobsink/knative-in_memory-channel_...``."""
    return f"localhost/jobsink/knative-{binary_name(command)}:{KNATIVE_VERSION}"


def ko_reference(command: str) -> str:
    return KO_PREFIX + command


def _command_name(command: str) -> str:
    """ko names the binary after the package's last path element."""
    return command.rsplit("/", 1)[-1]


def ensure_image_archive(files: KnativeFiles, command: str) -> Path:
    """The cached OCI archive of ``command``'s image, assembled first if absent.

    Rebuilt whenever the binary is newer than the archive (a rebuilt cache)."""
    binary = files.binary(command)
    target = files.images / f"{binary_name(command)}.tar"
    if target.exists() and target.stat().st_mtime >= binary.stat().st_mtime:
        return target
    files.images.mkdir(parents=True, exist_ok=True)
    name = _command_name(command)
    with tempfile.TemporaryDirectory(dir=files.images, prefix=".build-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        (rootfs / "ko-app").mkdir(parents=True)
        (rootfs / "var" / "run" / "ko").mkdir(parents=True)
        shutil.copy2(binary, rootfs / "ko-app" / name)
        (rootfs / "ko-app" / name).chmod(0o755)
        run = RunConfig(entrypoint=(f"/ko-app/{name}",), env=KO_ENV, user=NONROOT_UID)
        archive = image_archive(
            image_reference(command),
            layer_from_directory(rootfs),
            run=run,
            created_by=f"jobsink: knative.dev/eventing/cmd/{command} {KNATIVE_VERSION}",
        )
        partial = target.with_suffix(".partial")
        partial.write_bytes(archive)
        partial.replace(target)
    return target
