"""Conflicts between the user's pod template and what rendering injects for the event.

Rendering adds a Secret volume ``jobsink-event`` and, in every container without its own
``jobsink-event`` mount, a mount at ``/etc/jobsink-event``. A template that already uses that volume
name or that path would make every Job of the sink fail, so admission reports it here with a message
that says what to do, and :func:`injected_paths` lets validation drop the apiserver-style duplicate
errors the same conflict causes on the rendered Job.
"""

from __future__ import annotations

from typing import Any

from jobsink.names import ENV_EVENT_PATH, EVENT_MOUNT_PATH, EVENT_VOLUME
from jobsink.validation.errors import FieldError, child, index, invalid

CONTAINER_KINDS = ("initContainers", "containers")


def validate_injection(pod: dict[str, Any], path: str) -> list[FieldError]:
    """``pod`` is the JobSink's (defaulted) pod spec, ``path`` its field path."""
    errors: list[FieldError] = []
    for i, volume in enumerate(pod.get("volumes") or []):
        if volume.get("name") == EVENT_VOLUME:
            errors.append(
                invalid(
                    child(index(child(path, "volumes"), i), "name"),
                    EVENT_VOLUME,
                    "reserved for the event Secret that JobSink adds; to choose where the event "
                    f"file appears, give a container a volumeMount named {EVENT_VOLUME} instead",
                )
            )
    for kind in CONTAINER_KINDS:
        for i, container in enumerate(pod.get(kind) or []):
            mounts = container.get("volumeMounts") or []
            if any(m.get("name") == EVENT_VOLUME for m in mounts):
                continue
            for j, mount in enumerate(mounts):
                if mount.get("mountPath") == EVENT_MOUNT_PATH:
                    at = child(
                        index(child(index(child(path, kind), i), "volumeMounts"), j), "mountPath"
                    )
                    errors.append(
                        invalid(
                            at,
                            EVENT_MOUNT_PATH,
                            "JobSink mounts the event here; use another path, or name this "
                            f"mount {EVENT_VOLUME} to receive the event at this path",
                        )
                    )
    return errors


def injected_paths(pod: dict[str, Any], path: str) -> list[str]:
    """Paths, in the rendered pod spec, of the elements rendering appends to ``pod``."""
    volumes = pod.get("volumes") or []
    paths = []
    if not any(v.get("name") == EVENT_VOLUME for v in volumes):
        paths.append(index(child(path, "volumes"), len(volumes)))
    for kind in CONTAINER_KINDS:
        for i, container in enumerate(pod.get(kind) or []):
            at = index(child(path, kind), i)
            mounts = container.get("volumeMounts") or []
            if not any(m.get("name") == EVENT_VOLUME for m in mounts):
                paths.append(index(child(at, "volumeMounts"), len(mounts)))
            env = container.get("env") or []
            if not any(var.get("name") == ENV_EVENT_PATH for var in env):
                paths.append(index(child(at, "env"), len(env)))
    return paths


def is_under(path: str, prefixes: list[str]) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in prefixes)
