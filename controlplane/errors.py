"""The one exception type the control plane raises for problems a user can act on."""

from __future__ import annotations


class ControlPlaneError(RuntimeError):
    """Start-up, build or teardown failed; the message says what to do about it."""


class KubectlError(ControlPlaneError):
    """kubectl exited non-zero; ``stderr`` holds what it printed (the apiserver's message)."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"kubectl {' '.join(args)} failed (exit {returncode}): {stderr.strip()}")
