"""Calls of containerd's ``ctr`` against one node's socket, in the CRI's namespace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from controlplane.errors import ControlPlaneError

#: CRI's namespace in containerd: images must be there for the kubelet to see them.
CRI_NAMESPACE = "k8s.io"


def _ctr(ctr: Path, socket: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ctr), f"--address={socket}", f"--namespace={CRI_NAMESPACE}", *args],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def ctr_answers(ctr: Path, socket: Path, *args: str) -> bool:
    """Whether containerd answers (``ctr version``, say): False before its socket exists."""
    return socket.exists() and _ctr(ctr, socket, args).returncode == 0


def ctr_checked(ctr: Path, socket: Path, *args: str) -> str:
    """``ctr`` ARGS; its output, or an error with its message."""
    result = _ctr(ctr, socket, args)
    if result.returncode != 0:
        raise ControlPlaneError(
            f"`ctr {' '.join(args)}` failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-800:]}"
        )
    return result.stdout
