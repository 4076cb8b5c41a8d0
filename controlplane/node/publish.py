"""Publishing an image on the node: into containerd, where ``IfNotPresent`` finds it, and into
the node's registry, where every pull goes (see ``registry``)."""

from __future__ import annotations

from pathlib import Path

from controlplane.errors import ControlPlaneError
from controlplane.node.ctr import CRI_NAMESPACE, ctr_checked
from controlplane.node.images import imported_names
from controlplane.node.registry import RegistrySettings, repository_path


def publish(
    ctr: Path, socket: Path, archive: Path, reference: str, registry: RegistrySettings
) -> str:
    """Import ``archive`` (an OCI or Docker image archive), name it ``reference`` if it names
    one other image, and push it; returns the registry path (``library/bash:5``)."""
    import_image(ctr, socket, archive, reference)
    return push_image(ctr, socket, reference, registry)


def pulled_on_every_start(reference: str) -> bool:
    """``:latest`` (or no tag): the kubelet's default pull policy is then Always."""
    return repository_path(reference).endswith(":latest")


def import_image(ctr: Path, socket: Path, archive: Path, reference: str) -> None:
    """Into containerd under ``reference``, unpacked unless every start pulls it anyway (the
    pull unpacks it then, as a cluster's first pull would: no time spent at start-up)."""
    unpack = [] if not pulled_on_every_start(reference) else ["--no-unpack"]
    output = ctr_checked(ctr, socket, "images", "import", "--local", *unpack, str(archive))
    # ctr names what it unpacks; a packed import says nothing, so ask for the reference.
    imported = imported_names(output) if not unpack else _listed(ctr, socket, reference)
    if reference not in imported:
        if len(imported) != 1:
            held = ", ".join(imported) or "no image named so"
            raise ControlPlaneError(f"{archive} holds {held}, not {reference}")
        ctr_checked(ctr, socket, "images", "tag", "--force", imported[0], reference)


def _listed(ctr: Path, socket: Path, reference: str) -> list[str]:
    names = ctr_checked(ctr, socket, "images", "ls", "-q", f"name=={reference}").split()
    return [name for name in names if name == reference]


def push_image(ctr: Path, socket: Path, reference: str, registry: RegistrySettings) -> str:
    """Push ``reference`` from containerd to the registry; returns the path it is stored at."""
    path = repository_path(reference)
    # --local: the client reads containerd's content store itself, as `images import` did.
    ctr_checked(
        ctr, socket, "images", "push", "--plain-http", "--local", f"{registry.address}/{path}",
        reference,
    )  # fmt: skip
    return path


__all__ = ["CRI_NAMESPACE", "publish"]
