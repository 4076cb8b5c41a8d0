"""The README's install commands run as a user runs them: a shell's environment (the venv's
``jobsink`` and ``kubectl`` on ``PATH``, ``KUBECONFIG`` set), from the checkout's root."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from controlplane import ControlPlane
from controlplane.readiness import wait_for
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
    #: From then to the apiserver reaching the webhook through its Service.
    webhook_routed_seconds: float
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
    routed = _webhook_routed(env)
    return Installation(plane, image, env, seconds, routed, tuple(transcript))


def _webhook_routed(env: dict[str, str]) -> float:
    """Seconds until the apiserver reaches the webhook through its Service once both rollouts
    are complete: kube-proxy routes a Service to Pods once their readiness reaches it, a moment
    after the rollout, longer on a loaded machine. An apply in between is refused with
    "connection refused", on any cluster; the README's next step comes after this."""
    began = time.monotonic()
    probe = ["kubectl", "apply", "--dry-run=server", "-f", "examples/job-sink-logger.yaml"]

    def answers() -> bool:
        result = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60, check=False)  # fmt: skip
        return result.returncode == 0

    wait_for(answers, what="the webhook to answer through its Service", timeout=120)
    return time.monotonic() - began
