"""One-shot Pods of the cluster scenarios: a script from a ConfigMap run to its end, its log
read back, and counts of what the receiver created."""

from __future__ import annotations

import json
from typing import Any

import yaml

from controlplane import ControlPlane
from controlplane.readiness import wait_for
from jobsink.names import LABEL_SINK_NAME


def script_pod(
    plane: ControlPlane,
    namespace: str,
    name: str,
    *,
    image: str,
    script: str,
    env: dict[str, str],
) -> None:
    """Start ``python /app/script.py`` in ``image`` as a Pod (not awaited)."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"script.py": script},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "/app/script.py"],
                    "env": [{"name": key, "value": value} for key, value in env.items()],
                    "volumeMounts": [{"name": "app", "mountPath": "/app"}],
                }],
                "volumes": [{"name": "app", "configMap": {"name": name}}],
            },
        },
    ]  # fmt: skip
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def finished_log(plane: ControlPlane, namespace: str, name: str, timeout: float) -> str:
    """Wait for the Pod to end; its log, or an error with it when the Pod failed."""

    def phase() -> str:
        pod = json.loads(plane.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)
        return str(pod["status"].get("phase", ""))

    wait_for(lambda: phase() in ("Succeeded", "Failed"), what=f"Pod {name} to end",
             timeout=timeout)  # fmt: skip
    log = plane.kubectl("logs", name, "-n", namespace).stdout
    assert phase() == "Succeeded", log
    return log


def count(plane: ControlPlane, kind: str, namespace: str, sink: str) -> int:
    listed = plane.kubectl("get", kind, "-n", namespace, "-l", f"{LABEL_SINK_NAME}={sink}",
                           "-o", "name", timeout=120).stdout  # fmt: skip
    return len(listed.split())
