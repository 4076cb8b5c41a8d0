"""OCI image archives (``oci-layout`` + ``index.json`` + blobs, tarred) from a root filesystem.

What ``ctr images import`` reads: the index names the image through containerd's
``io.containerd.image.name`` annotation, so it is stored under exactly that reference. One
uncompressed layer (importing is local; compression would only cost time). Output is
deterministic: sorted entries, fixed timestamps and owners, so the same tree gives the same
digests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
#: 2000-01-01: a fixed, valid timestamp for every entry (zero upsets some tar readers).
FIXED_MTIME = 946684800


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        described: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
        }
        if annotations:
            described["annotations"] = dict(annotations)
        return described


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def layer_from_directory(rootfs: Path) -> bytes:
    """An uncompressed tar of everything under ``rootfs`` (paths relative to it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory, subdirs, files in os.walk(rootfs):
            subdirs.sort()
            for name in [*sorted(subdirs), *sorted(files)]:
                path = Path(directory) / name
                arcname = str(path.relative_to(rootfs))
                tar.add(path, arcname=arcname, recursive=False, filter=_normalise)
    return buffer.getvalue()


@dataclass(frozen=True)
class RunConfig:
    """How a container of the image starts, as an image's ``config`` says it."""

    cmd: Sequence[str] = ()
    entrypoint: Sequence[str] = ()
    env: Sequence[str] = ()
    user: str = ""
    workdir: str = "/"

    def document(self) -> dict[str, Any]:
        config: dict[str, Any] = {"Cmd": list(self.cmd), "Env": list(self.env)}
        if self.entrypoint:
            config["Entrypoint"] = list(self.entrypoint)
        if self.user:
            config["User"] = self.user
        config["WorkingDir"] = self.workdir
        return config


def image_config(layer: Blob, *, run: RunConfig, created_by: str) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": run.document(),
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [{"created_by": created_by}],
    }


def image_archive(reference: str, layer_tar: bytes, *, run: RunConfig, created_by: str) -> bytes:
    """A tarred OCI image layout holding one image named ``reference``."""
    layer = Blob(LAYER, layer_tar)
    config = Blob(CONFIG, _canonical(image_config(layer, run=run, created_by=created_by)))
    manifest = Blob(
        MANIFEST,
        _canonical(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
            }
        ),
    )
    tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "manifests": [
            manifest.descriptor({IMAGE_NAME_ANNOTATION: reference, REF_NAME_ANNOTATION: tag})
        ],
    }
    files = {
        "oci-layout": _canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": _canonical(index),
        **{
            f"blobs/sha256/{blob.digest.removeprefix('sha256:')}": blob.data
            for blob in (layer, config, manifest)
        },
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = _normalise(tarfile.TarInfo(name))
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
