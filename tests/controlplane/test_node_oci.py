"""OCI archives as `ctr images import` reads them: named by reference, reproducible."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from controlplane.node.oci import (
    IMAGE_NAME_ANNOTATION,
    LAYER,
    MANIFEST,
    RunConfig,
    image_archive,
    layer_from_directory,
)


def _tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "bash").write_bytes(b"#!binary")
    (root / "bin" / "bash").chmod(0o755)
    (root / "bin" / "sh").symlink_to("bash")
    os.link(root / "bin" / "bash", root / "bin" / "rbash")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/bash\n")
    return root


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_the_layer_keeps_modes_symlinks_and_hard_links(tmp_path: Path) -> None:
    layer = layer_from_directory(_tree(tmp_path / "rootfs"))
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members) == ["bin", "etc", "bin/bash", "bin/rbash", "bin/sh", "etc/passwd"]
    assert members["bin/bash"].mode == 0o755
    assert (members["bin/sh"].issym(), members["bin/sh"].linkname) == (True, "bash")
    assert (members["bin/rbash"].islnk(), members["bin/rbash"].linkname) == (True, "bin/bash")
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "")}


def test_the_same_tree_gives_the_same_bytes(tmp_path: Path) -> None:
    first = layer_from_directory(_tree(tmp_path / "a"))
    second_tree = _tree(tmp_path / "b")
    os.utime(second_tree / "etc" / "passwd", (1, 1))  # other timestamps, same content
    second = layer_from_directory(second_tree)
    assert first == second


@pytest.mark.parametrize(
    ("reference", "tag"),
    [
        ("docker.io/library/bash:5", "5"),
        ("localhost/jobsink/pause:3.10.2", "3.10.2"),
        ("localhost:5000/tools", "latest"),
    ],
)
def test_the_index_names_the_image_and_every_digest_matches(reference: str, tag: str) -> None:
    archive = image_archive(
        reference, b"layer-bytes", run=RunConfig(cmd=["bash"], env=["PATH=/bin"]), created_by="t"
    )
    files = _members(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["annotations"][IMAGE_NAME_ANNOTATION] == reference
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == tag
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].split(':')[1]}"])
    assert (entry["mediaType"], manifest["mediaType"]) == (MANIFEST, MANIFEST)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == LAYER
    config = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"])
    assert config["rootfs"]["diff_ids"] == [layer["digest"]]
    assert config["config"]["Cmd"] == ["bash"]


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            RunConfig(cmd=["bash"], env=["PATH=/bin"]),
            {"Cmd": ["bash"], "Env": ["PATH=/bin"], "WorkingDir": "/"},
        ),
        (
            RunConfig(
                cmd=["curl"], entrypoint=["/entrypoint.sh"], user="100", workdir="/home/curl_user"
            ),
            {
                "Cmd": ["curl"],
                "Entrypoint": ["/entrypoint.sh"],
                "Env": [],
                "User": "100",
                "WorkingDir": "/home/curl_user",
            },
        ),
    ],
    ids=["a command alone, as before", "entrypoint, user and working directory"],
)
def test_the_image_config_says_how_a_container_starts(
    run: RunConfig, expected: dict[str, object]
) -> None:
    assert run.document() == expected
