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
    output = ctr_checked(ctr, socket, "images", "import", "--local", str(archive))
    imported = imported_names(output)
    if reference not in imported:
        if len(imported) != 1:
            held = ", ".join(imported) or "no named image"
            raise ControlPlaneError(f"{archive} holds {held}, not {reference}")
        ctr_checked(ctr, socket, "images", "tag", "--force", imported[0], reference)
    path = repository_path(reference)
    # --local: the client reads containerd's content store itself, as `images import` did.
    ctr_checked(
        ctr, socket, "images", "push", "--plain-http", "--local", f"{registry.address}/{path}",
        reference,
    )  # fmt: skip
    return path


__all__ = ["CRI_NAMESPACE", "publish"]
