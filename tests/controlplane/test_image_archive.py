"""An OCI archive's unpacked size: stored layers as they are, gzip layers decompressed."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

from controlplane.image.archive import unpacked_size
from controlplane.node.oci import LAYER, MANIFEST, Blob, RunConfig, image_archive


def test_an_uncompressed_layer_counts_as_stored(tmp_path: Path) -> None:
    layer = b"x" * 10240
    archive = tmp_path / "plain.tar"
    archive.write_bytes(image_archive("localhost/x:1", layer, run=RunConfig(), created_by="test"))
    assert unpacked_size(archive) == len(layer)


def test_a_gzip_layer_counts_decompressed(tmp_path: Path) -> None:
    plain, packed = b"a" * 4096, Blob(LAYER + "+gzip", gzip.compress(b"b" * 100_000))
    stored = Blob(LAYER, plain)
    manifest = Blob(
        MANIFEST, json.dumps({"layers": [stored.descriptor(), packed.descriptor()]}).encode()
    )
    index = json.dumps({"manifests": [manifest.descriptor()]}).encode()
    archive = tmp_path / "mixed.tar"
    with tarfile.open(archive, "w") as tar:
        files = {"index.json": index}
        files |= {f"blobs/sha256/{b.digest[7:]}": b.data for b in (stored, packed, manifest)}
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert unpacked_size(archive) == 4096 + 100_000
