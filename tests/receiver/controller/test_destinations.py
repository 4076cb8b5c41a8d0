"""Resolving a dead-letter sink: Knative's rules for ref, uri and both, and the reasons it fails.

The JobSink cache and the other kinds' reads are fakes here (a dict of objects); the real
apiserver path is covered by tests/e2e/test_dead_letters.py.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from jobsink.destinations import Resolution
from kubeapi.addressables import Addressables, UnknownKind
from receiver.controller.destinations import DestinationResolver
from receiver.controller.sinks import SinkCache

JOBSINK = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink"}
BROKER = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker"}


def addressable(url: str | None, **address: str) -> dict[str, Any]:
    return {"status": {"address": {"url": url, **address}} if url else {}}


class FakeObjects:
    """Stands in for both the JobSink cache and ``Addressables``: objects by (kind, ns, name)."""

    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]]) -> None:
        self.objects = objects

    def watched(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(("JobSink", namespace, name))

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Any:
        if kind == "Nope":
            raise UnknownKind(f"the cluster serves no kind Nope in {api_version}")
        return self.objects.get((kind, namespace, name))


OBJECTS = {
    ("JobSink", "team", "dls"): addressable("http://r/team/dls"),
    ("JobSink", "other", "dls"): addressable("https://r/other/dls", CACerts="PEM"),
    ("JobSink", "team", "starting"): addressable(None),
    ("Broker", "team", "b"): addressable("http://broker/team/b", audience="aud"),
}


def sink(destination: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"job": {}}
    if destination is not None:
        spec["delivery"] = {"deadLetterSink": destination}
    return {"metadata": {"namespace": "team", "name": "failing"}, "spec": spec}


def resolver() -> DestinationResolver:
    fake = FakeObjects(OBJECTS)
    return DestinationResolver(cast(SinkCache, fake), cast(Addressables, fake))


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ({"ref": {**JOBSINK, "name": "dls"}}, Resolution(url="http://r/team/dls")),
        (
            {"ref": {**JOBSINK, "name": "dls", "namespace": "other"}},
            Resolution(url="https://r/other/dls", ca_certs="PEM"),
        ),
        ({"ref": {**JOBSINK, "name": "dls"}, "uri": "/x?y=1"}, Resolution(url="http://r/x?y=1")),
        ({"ref": {**BROKER, "name": "b"}}, Resolution(url="http://broker/team/b", audience="aud")),
        (
            {"uri": "http://127.0.0.1:9/d", "CACerts": "C"},
            Resolution(url="http://127.0.0.1:9/d", ca_certs="C"),
        ),
        (
            {"ref": {**JOBSINK, "name": "missing"}},
            Resolution.failed("NotFound", "JobSink team/missing does not exist"),
        ),
        (
            {"ref": {**JOBSINK, "name": "starting"}},
            Resolution.failed("NoAddress", "JobSink team/starting has no status.address.url"),
        ),
        (
            {"ref": {**BROKER, "kind": "Nope", "name": "b"}},
            Resolution.failed(
                "Unresolvable", "the cluster serves no kind Nope in eventing.knative.dev/v1"
            ),
        ),
        ({"uri": "/relative"}, Resolution.failed("Unresolvable", "uri must be an absolute URL")),
    ],
)
def test_resolution(destination: dict[str, Any], expected: Resolution) -> None:
    assert resolver().resolve(sink(destination)) == expected


def test_no_dead_letter_sink_resolves_to_nothing() -> None:
    assert resolver().resolve(sink(None)) is None


def test_referrers_are_remembered_until_the_ref_goes() -> None:
    found = resolver()
    found.resolve(sink({"ref": {**JOBSINK, "name": "dls"}}))
    assert found.referrers_of(("team", "dls")) == [("team", "failing")]
    found.resolve(sink({"uri": "http://127.0.0.1:9/d"}))
    assert found.referrers_of(("team", "dls")) == []
