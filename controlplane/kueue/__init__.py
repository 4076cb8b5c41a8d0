"""Kueue (``sigs.k8s.io/kueue``) on the local control plane: its manager as a host process.

Built from its Go module by ``tools/build-kueue.sh``; started by ``start_kueue(plane)`` or
``ControlPlane(kueue=True)`` (``python -m controlplane --kueue``). Needs Linux and root.
"""

from controlplane.kueue.binaries import KUEUE_VERSION, KueueFiles, ensure_kueue, find_kueue
from controlplane.kueue.manager import RunningKueue, kueue_unavailable_reason, start_kueue
from controlplane.kueue.manifests import QUEUE_NAME_LABEL

__all__ = [
    "KUEUE_VERSION",
    "QUEUE_NAME_LABEL",
    "KueueFiles",
    "RunningKueue",
    "ensure_kueue",
    "find_kueue",
    "kueue_unavailable_reason",
    "start_kueue",
]
