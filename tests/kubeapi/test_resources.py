"""The one path builder: every segment quoted, every resource where the apiserver serves it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kubeapi.jobsinks import JOBSINKS
from kubeapi.resources import (
    JOBS,
    LEASES,
    SECRETS,
    VALIDATING_WEBHOOK_CONFIGURATIONS,
    ResourceType,
    path,
)


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "subresource", "expected"),
    [
        pytest.param(JOBS, None, None, None, "/apis/batch/v1/jobs", id="all-namespaces"),
        pytest.param(JOBS, "ns", None, None, "/apis/batch/v1/namespaces/ns/jobs", id="collection"),
        pytest.param(SECRETS, "ns", "s", None, "/api/v1/namespaces/ns/secrets/s", id="core-item"),
        pytest.param(
            LEASES,
            "kube-system",
            "lock",
            None,
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/lock",
            id="lease",
        ),
        pytest.param(
            JOBSINKS,
            "ns",
            "sink",
            "status",
            "/apis/sinks.knative.dev/v1alpha1/namespaces/ns/jobsinks/sink/status",
            id="subresource",
        ),
        pytest.param(
            VALIDATING_WEBHOOK_CONFIGURATIONS,
            None,
            "jobsink",
            None,
            "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/jobsink",
            id="cluster-scoped",
        ),
        pytest.param(
            SECRETS, "ns", "a/../b", None, "/api/v1/namespaces/ns/secrets/a%2F..%2Fb", id="slash"
        ),
        pytest.param(
            SECRETS, "n s", "x?y#z%", None, "/api/v1/namespaces/n%20s/secrets/x%3Fy%23z%25",
            id="query-fragment-percent",
        ),
    ],
)  # fmt: skip
def test_paths(
    resource: ResourceType,
    namespace: str | None,
    name: str | None,
    subresource: str | None,
    expected: str,
) -> None:
    assert path(resource, namespace, name, subresource) == expected


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "subresource", "message"),
    [
        pytest.param(JOBS, "", None, None, "empty", id="empty-namespace"),
        pytest.param(JOBS, "ns", "", None, "empty", id="empty-name"),
        pytest.param(JOBS, "ns", "..", None, "relative", id="dot-dot"),
        pytest.param(JOBS, "ns", None, "status", "needs an object name", id="orphan-subresource"),
        pytest.param(
            VALIDATING_WEBHOOK_CONFIGURATIONS, "ns", "x", None, "cluster-scoped", id="scope"
        ),
    ],
)
def test_paths_that_would_address_something_else_are_refused(
    resource: ResourceType,
    namespace: str | None,
    name: str | None,
    subresource: str | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        path(resource, namespace, name, subresource)


@pytest.mark.parametrize(
    ("resource", "api_version"),
    [(JOBS, "batch/v1"), (SECRETS, "v1"), (JOBSINKS, "sinks.knative.dev/v1alpha1")],
)
def test_api_version(resource: ResourceType, api_version: str) -> None:
    assert resource.api_version == api_version


@pytest.mark.parametrize(
    "name",
    ["job-1", "a.b_c~d", "UPPER9", "ä", "a b", "%41", "a/b", "x?y", "-", "é-1", "a\nb", "+"],
)
def test_a_segment_left_unquoted_is_what_quoting_would_give(name: str) -> None:
    assert path(SECRETS, "ns", name) == "/api/v1/namespaces/ns/secrets/" + quote(name, safe="")
