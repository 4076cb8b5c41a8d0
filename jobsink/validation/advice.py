"""Warnings: JobSinks that are legal but probably not what their author wants.

They are returned to ``kubectl`` as admission warnings and printed by ``jobsink validate``; they
never block a JobSink.
"""

from __future__ import annotations

from typing import Any

from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    ENV_EVENT_PATH,
    LABEL_SINK_ID,
    LABEL_SINK_NAME,
)

CONTAINER_KINDS = ("initContainers", "containers")
RESERVED_LABELS = (LABEL_SINK_NAME, LABEL_SINK_ID)
RESERVED_ANNOTATIONS = (ANNOTATION_EVENT_SOURCE, ANNOTATION_EVENT_ID)


def warnings(obj: dict[str, Any]) -> list[str]:
    """Advice for a (defaulted, valid) JobSink; empty when nothing looks odd."""
    job = (obj.get("spec") or {}).get("job") or {}
    spec = job.get("spec") or {}
    found: list[str] = []
    if spec.get("ttlSecondsAfterFinished") is None:
        found.append(
            "spec.job.spec.ttlSecondsAfterFinished is not set: finished Jobs and their event "
            "Secrets are kept until deleted; set it (for example to 600) to clean them up"
        )
    if spec.get("manualSelector"):
        found.append(
            "spec.job.spec.manualSelector is true: every Job of this JobSink gets the same "
            "selector, so the Jobs of different events count each other's pods"
        )
    if spec.get("suspend"):
        found.append(
            "spec.job.spec.suspend is true: each Job is created suspended and runs only when "
            "something (for example Kueue) unsuspends it"
        )
    meta = job.get("metadata") or {}
    for kind, names in (("labels", RESERVED_LABELS), ("annotations", RESERVED_ANNOTATIONS)):
        for name in sorted(set(meta.get(kind) or {}) & set(names)):
            found.append(
                f"spec.job.metadata.{kind}[{name}] is set by JobSink on every Job: "
                "the value given here is replaced"
            )
    pod = (spec.get("template") or {}).get("spec") or {}
    for kind in CONTAINER_KINDS:
        for i, container in enumerate(pod.get(kind) or []):
            at = f"spec.job.spec.template.spec.{kind}[{i}]"
            image = container.get("image") or ""
            if image and _floating_tag(image):
                found.append(
                    f"{at}.image: {image!r} has no fixed tag (none or :latest): Jobs of "
                    "different events may run different code; pin a tag or a digest"
                )
            if any(var.get("name") == ENV_EVENT_PATH for var in container.get("env") or []):
                found.append(
                    f"{at}.env: {ENV_EVENT_PATH} is set by the template, so JobSink leaves it "
                    "as is; it may not point at the event directory"
                )
    return found


def _floating_tag(image: str) -> bool:
    if "@" in image:
        return False
    name = image.rpartition("/")[2]
    return ":" not in name or name.endswith(":latest")
