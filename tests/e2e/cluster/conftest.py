"""The cluster scenarios' session: the local node with its Services, cluster DNS and registry,
the project image built from the ``Dockerfile`` (``make image``'s function, cached) and
published on the node, then the README's install section run against it.

They install the bundle (CRD, webhook configurations) on the node plane, which the host-side
``node_stack`` would contend with: run them in a session of their own (``make test-cluster``;
``make test`` runs them after the rest). Every test here is marked ``cluster``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controlplane import ControlPlane
from controlplane.image import ensure_project_image
from controlplane.node.images import BinaryImage, ensure_archive
from tests.e2e.cluster.install import Installation, install
from tests.e2e.cluster.python_reader_image import REFERENCE as PYTHON_READER
from tests.e2e.cluster.python_reader_image import ensure_python_reader
from tests.e2e.cluster.readme import ROOT
from tests.e2e.node.cluster_network import require_services

SDK_VERSION = "v2.16.2"
EVENT_READER_IMAGE = f"localhost/jobsink-test/event-reader:{SDK_VERSION}"


@pytest.fixture(scope="session")
def installation(node_plane: ControlPlane) -> Installation:
    require_services(node_plane)
    crds = node_plane.kubectl("get", "crd", "-o", "name").stdout
    if "jobsinks.sinks.knative.dev" in crds:
        pytest.fail(
            "the JobSink CRD is already on the node plane (the host-side node_stack ran in this"
            " session): run the cluster scenarios on their own, `pytest -m cluster`",
            pytrace=False,
        )
    node = node_plane.node
    assert node is not None
    build = ensure_project_image(print, import_into=[])
    state = "built" if build.built else "up to date"
    print(f"{build.reference}: {state} in {build.seconds:.1f}s, archive {build.size / 1e6:.1f} MB")
    # Into the node's containerd (IfNotPresent finds it) and its registry, as `docker push`.
    node.publish_image(build.archive, build.reference)
    return install(node_plane, build.reference)


@pytest.fixture(scope="session")
def event_reader_image(installation: Installation) -> str:
    """The documentation's Go snippet (CloudEvents Go SDK) as a static binary in an image,
    published on the node under a versioned tag (``IfNotPresent`` finds it)."""
    built = subprocess.run(["bash", str(ROOT / "tools" / "build-event-reader.sh")],
                           capture_output=True, text=True, check=True, timeout=900)  # fmt: skip
    binary = Path(built.stdout.strip().splitlines()[-1])
    image = BinaryImage(EVENT_READER_IMAGE, binary, (f"/{binary.name}",), version=SDK_VERSION)
    node = installation.plane.node
    assert node is not None
    node.publish_image(ensure_archive(image, print), image.reference)
    return image.reference


@pytest.fixture(scope="session")
def python_reader_image(installation: Installation) -> str:
    """The CloudEvents Python SDK's JSON reader in an image BuildKit built from a Dockerfile
    on the local python base, published on the node."""
    node = installation.plane.node
    assert node is not None
    node.publish_image(ensure_python_reader(print), PYTHON_READER)
    return PYTHON_READER
