"""Sizes of an OCI image archive's layers, as stored and as unpacked (what a node holds)."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path
from typing import IO, Any, Protocol

CHUNK = 1 << 20


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _blob(archive: tarfile.TarFile, digest: str) -> IO[bytes]:
    member = archive.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
    if member is None:
        raise ValueError(f"{digest} is not a file in the archive")
    return member


def _length(stream: _Readable) -> int:
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
    return total


def unpacked_size(path: Path) -> int:
    """The bytes of every layer of the archive's (first) image, decompressed."""
    with tarfile.open(path) as archive:
        index: dict[str, Any] = json.load(_blob_by_name(archive, "index.json"))
        manifest: dict[str, Any] = json.load(_blob(archive, index["manifests"][0]["digest"]))
        total = 0
        for layer in manifest["layers"]:
            stream = _blob(archive, layer["digest"])
            if layer["mediaType"].endswith("+gzip"):
                total += _length(gzip.GzipFile(fileobj=stream))
            else:
                total += int(layer["size"])
        return total


def _blob_by_name(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"the archive has no {name}")
    return member
