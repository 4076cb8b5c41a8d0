"""Our validation verdict equals the real kube-apiserver's on the rendered Job.

For every JobSink of the corpus (``tests/api/corpus.py``) the Job the receiver would create is sent
to the pinned 1.36 apiserver as a server-side dry-run create with strict field validation. A valid
case must be accepted, an invalid one refused, and the apiserver must name the field we name.
Cases refused for JobSink-only reasons (``admission_only``) have no Job to compare and are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane import ControlPlane
from jobsink.defaults import default
from jobsink.render import dry_run_job
from tests.api.corpus import CASES, Case
from tests.e2e.support import unique_name

UNDECODABLE = "cannot be handled as a Job"
COMPARABLE = [case for case in CASES if not case.admission_only]


@pytest.fixture(scope="module")
def oracle_namespace(control_plane: ControlPlane) -> Iterator[str]:
    """One namespace for the whole corpus: a dry run persists nothing, so cases cannot interfere."""
    name = unique_name("oracle")
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def apiserver_path(path: str) -> str:
    """Our JobSink path as the apiserver names it in the rendered Job."""
    if path == "metadata.name":
        return "metadata.labels"  # the sink name reaches the Job as a label value
    return path.removeprefix("spec.job.")


def loose(path: str) -> str:
    """A path without map keys, indexes and ``metadata``, which the two sides print differently
    (the apiserver says ``spec.template.labels`` for the pod template's labels, for example)."""
    return re.sub(r"\[[^\]]*\]", "", path).replace("metadata.", "")


def dry_run(control_plane: ControlPlane, namespace: str, job: dict[str, Any]) -> tuple[bool, str]:
    job["metadata"]["namespace"] = namespace
    result = control_plane.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-o",
        "name",
        "-f",
        "-",
        input=json.dumps(job),
        check=False,
    )
    return result.returncode == 0, result.stderr


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert sum(c.valid for c in CASES) >= 10
    assert sum(not c.valid for c in CASES) >= 20


@pytest.mark.parametrize("case", COMPARABLE, ids=[c.id for c in COMPARABLE])
def test_verdict_matches_apiserver(
    control_plane: ControlPlane, oracle_namespace: str, case: Case
) -> None:
    accepted, stderr = dry_run(control_plane, oracle_namespace, dry_run_job(default(case.obj)))
    assert accepted == case.valid, stderr or "the apiserver accepted the rendered Job"
    if not accepted and UNDECODABLE not in stderr:  # decoding errors may not name a field
        named = loose(stderr)
        missing = [p for p in case.errors if loose(apiserver_path(p)) not in named]
        assert not missing, f"the apiserver does not name {missing}: {stderr}"
