"""The README's install commands run as a user runs them: a shell's environment (the venv's
``jobsink`` and ``kubectl`` on ``PATH``, ``KUBECONFIG`` set), from the checkout's root."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from controlplane import ControlPlane
from tests.e2e.cluster.readme import README, ROOT, for_image, install_commands

NAMESPACE = "knative-eventing"
BUNDLE = ROOT / "dist" / "jobsink.yaml"


@dataclass(frozen=True)
class Installation:
    plane: ControlPlane
    image: str
    env: dict[str, str]
    #: From ``kubectl apply -f dist/jobsink.yaml`` to both rollouts reported complete.
    apply_to_available_seconds: float
    #: Each command run, as run (the image reference replaced), and its output.
    transcript: tuple[tuple[tuple[str, ...], str], ...]


def user_env(plane: ControlPlane) -> dict[str, str]:
    venv_bin = str(ROOT / ".venv" / "bin")
    kubectl_dir = str(Path(plane.binaries.kubectl).parent)
    path = os.pathsep.join([venv_bin, kubectl_dir, os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "KUBECONFIG": str(plane.kubeconfig)}


def run(argv: list[str], env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"`{' '.join(argv)}` exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")  # fmt: skip
    return result.stdout + result.stderr


def install(plane: ControlPlane, image: str) -> Installation:
    """Every command of the README's install block but ``docker build``/``docker push``, whose
    work the caller did (BuildKit on the same ``Dockerfile``, published on the node)."""
    env = user_env(plane)
    transcript: list[tuple[tuple[str, ...], str]] = []
    applied_at: float | None = None
    for command in install_commands(README.read_text()):
        if command[0] == "docker":
            continue
        argv = for_image(command, image)
        if argv[:2] == ["kubectl", "apply"]:
            applied_at = time.monotonic()
        transcript.append((tuple(argv), run(argv, env)))
    assert applied_at is not None, "the README's install block applies nothing"
    seconds = time.monotonic() - applied_at
    return Installation(plane, image, env, seconds, tuple(transcript))
