"""Debian images keyed by their exact package files, and the CA bundle dpkg-deb -x leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.node.images import (
    PATH_ENV,
    WORKLOAD_IMAGES,
    DebianImage,
    ca_bundle,
    cache_key,
    downloaded_files,
)

PRINT_URIS = "\n".join(
    [
        "'http://mirror.invalid/d/dash_0.5.12-2_amd64.deb' dash_0.5.12-2_amd64.deb 918 SHA256:33ea",
        "'http://mirror.invalid/p/python3.11_3.11.2-6%2bdeb12u9_amd64.deb'"
        " python3.11_3.11.2-6+deb12u9_amd64.deb 575032 SHA256:4fac",
        "Reading package lists...",
    ]
)


def test_print_uris_output_becomes_one_sorted_line_per_file_with_its_hash() -> None:
    assert downloaded_files(PRINT_URIS) == [
        "dash_0.5.12-2_amd64.deb SHA256:33ea",
        "python3.11_3.11.2-6+deb12u9_amd64.deb SHA256:4fac",
    ]


def test_the_workload_images_keep_their_cache_keys() -> None:
    """Images without env or content keep the key they had before those fields existed, so
    the archives already cached on machines stay valid."""
    bash = WORKLOAD_IMAGES[0]
    assert bash.env == (PATH_ENV,)
    assert not bash.content
    assert cache_key(bash) == "b35b23b10db0efae"


@pytest.mark.parametrize(
    "other",
    [
        DebianImage("localhost/x:1", ("dash",), ("sh",), content="dash_0.5.12-3_amd64.deb"),
        DebianImage("localhost/x:1", ("dash",), ("sh",), env=(PATH_ENV, "LANG=C.UTF-8")),
        DebianImage("localhost/x:1", ("dash",), ("sh",)),
    ],
)
def test_a_new_package_version_or_environment_is_a_new_key(other: DebianImage) -> None:
    image = DebianImage("localhost/x:1", ("dash",), ("sh",), content="dash_0.5.12-2_amd64.deb")
    assert cache_key(image) != cache_key(other)


def test_the_ca_bundle_holds_every_shipped_certificate(tmp_path: Path) -> None:
    shipped = tmp_path / "usr/share/ca-certificates/mozilla"
    shipped.mkdir(parents=True)
    (shipped / "B.crt").write_text("-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----")
    (shipped / "A.crt").write_text("-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n")
    ca_bundle(tmp_path)
    bundle = (tmp_path / "etc/ssl/certs/ca-certificates.crt").read_text()
    assert bundle.count("BEGIN CERTIFICATE") == 2
    assert bundle.index("\nA\n") < bundle.index("\nB\n")
    assert bundle.endswith("-----END CERTIFICATE-----\n")


def test_no_bundle_without_ca_certificates(tmp_path: Path) -> None:
    ca_bundle(tmp_path)
    assert not (tmp_path / "etc").exists()
