"""The project image, built from the ``Dockerfile`` without a Docker engine or a registry.

BuildKit (``buildkitd`` with its containerd worker, and ``buildctl``) builds it on a containerd
of the node's pinned release, ``FROM`` a Python base assembled from Debian's bookworm packages,
with pip reading a wheelhouse served on loopback. See docs/install.md, "Building the image".
"""

from controlplane.image.project import ImageBuild, ensure_project_image, project_reference

__all__ = ["ImageBuild", "ensure_project_image", "project_reference"]
