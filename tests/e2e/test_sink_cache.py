"""The JobSink cache, the informer under it and the Lease election against the real apiserver:
live GET, watch events, 410 Gone and a re-list, a cut watch connection, paged lists, a
metadata-only watch, and a contended Lease."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from controlplane.readiness import wait_for
from jobsink.types import API_VERSION, GROUP, KIND, PLURAL, VERSION
from kubeapi.calls import Caller
from kubeapi.errors import Gone
from kubeapi.informer import Informer
from kubeapi.jobsinks import JOBSINKS
from kubeapi.leases import Leases
from kubeapi.listwatch import ListWatch
from kubeapi.resources import JOBS
from receiver.controller.lease import LeaderElector
from receiver.controller.sinks import SinkCache
from receiver.metrics import Metrics

pytestmark = pytest.mark.usefixtures("jobsink_crd")

TIMEOUT = 30.0


def body(name: str, backoff_limit: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {
            "job": {
                "spec": {
                    "backoffLimit": backoff_limit,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
                        }
                    },
                }
            }
        },
    }


@pytest.fixture
def objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def cache(api_client: client.ApiClient, namespace: str, metrics: Metrics) -> Iterator[SinkCache]:
    started = SinkCache(api_client, namespace=namespace, metrics=metrics)
    started.start()
    assert started.wait_synced(TIMEOUT)
    yield started
    started.stop()


def cut_watch(cache: SinkCache) -> None:
    """Break the cache's open watch connection from outside, as a network failure would."""
    wait_for(lambda: cache.informer._stream is not None, what="watch open", timeout=TIMEOUT)
    stream = cache.informer._stream
    assert stream is not None
    stream.close()


def create(objects: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    created: dict[str, Any] = objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body(name)
    )
    return created


def test_live_get_without_a_watch(
    api_client: client.ApiClient, objects: client.CustomObjectsApi, namespace: str
) -> None:
    unstarted = SinkCache(api_client, namespace=namespace)
    assert unstarted.get(namespace, "absent") is None
    created = create(objects, namespace, "fresh")
    found = unstarted.get(namespace, "fresh")
    assert found is not None
    assert found["metadata"]["uid"] == created["metadata"]["uid"]


def test_created_jobsink_works_at_once(
    cache: SinkCache, objects: client.CustomObjectsApi, namespace: str
) -> None:
    create(objects, namespace, "instant")
    assert cache.get(namespace, "instant") is not None


def test_watch_follows_create_update_delete(
    cache: SinkCache, objects: client.CustomObjectsApi, namespace: str
) -> None:
    created = create(objects, namespace, "watched")
    wait_for(lambda: cache.cached(namespace, "watched") is not None, what="ADDED", timeout=TIMEOUT)

    patch = {"spec": {"job": {"spec": {"backoffLimit": 4}}}}
    objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "watched", patch)

    def modified() -> bool:
        seen = cache.cached(namespace, "watched") or {}
        return bool(seen.get("metadata", {}).get("generation") == 2)

    wait_for(modified, what="MODIFIED", timeout=TIMEOUT)
    objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "watched")
    wait_for(lambda: cache.cached(namespace, "watched") is None, what="DELETED", timeout=TIMEOUT)
    assert cache.get(namespace, "watched") is None
    assert created["metadata"]["uid"]


def test_too_old_resource_version_is_gone(api_client: client.ApiClient, namespace: str) -> None:
    with pytest.raises(Gone):
        for _ in ListWatch(Caller(api_client), JOBSINKS, namespace).watch("1", timeout_seconds=5):
            pass


def test_gone_relists_and_keeps_following(
    cache: SinkCache, objects: client.CustomObjectsApi, namespace: str, metrics: Metrics
) -> None:
    def gone_restarts() -> float:
        found = metrics.registry.get_sample_value(
            "jobsink_sink_cache_restarts_total", {"reason": "gone"}
        )
        return found or 0.0

    # Make the next watch start from a resourceVersion the apiserver no longer has.
    wait_for(lambda: cache.informer._stream is not None, what="watch open", timeout=TIMEOUT)
    cache.informer.resource_version = "1"
    cut_watch(cache)
    wait_for(
        lambda: gone_restarts() > 0,
        what="410 Gone seen",
        timeout=TIMEOUT,
    )
    create(objects, namespace, "after-relist")
    wait_for(
        lambda: cache.cached(namespace, "after-relist") is not None,
        what="watch after re-list",
        timeout=TIMEOUT,
    )


def test_cut_connection_resumes(
    cache: SinkCache, objects: client.CustomObjectsApi, namespace: str
) -> None:
    cut_watch(cache)
    create(objects, namespace, "after-cut")
    wait_for(
        lambda: cache.cached(namespace, "after-cut") is not None,
        what="watch resumed",
        timeout=TIMEOUT,
    )


def test_contended_lease_has_one_holder(
    api_client: client.ApiClient, namespace: str, kubectl: Any
) -> None:
    leases = Leases(api_client, namespace)
    electors = [
        LeaderElector(leases, "contended", f"candidate-{i}", duration=4.0, renew_every=1.0)
        for i in range(3)
    ]
    for elector in electors:
        elector.start()
    try:
        wait_for(lambda: any(e.is_leader for e in electors), what="a leader", timeout=TIMEOUT)
        leaders = [e for e in electors if e.is_leader]
        assert len(leaders) == 1
        lease = json.loads(
            kubectl("get", "lease", "contended", "-n", namespace, "-o", "json").stdout
        )
        assert lease["spec"]["holderIdentity"] == leaders[0].identity
        assert lease["spec"]["leaseDurationSeconds"] == 4
        leaders[0].stop()
        wait_for(
            lambda: sum(e.is_leader for e in electors) == 1 and not leaders[0].is_leader,
            what="a successor",
            timeout=TIMEOUT,
        )
    finally:
        for elector in electors:
            elector.stop()


def test_list_pages_through_every_jobsink(
    api_client: client.ApiClient, objects: client.CustomObjectsApi, namespace: str
) -> None:
    for i in range(7):
        create(objects, namespace, f"paged-{i}")
    pages: list[str] = []
    caller = Caller(api_client, observe=lambda operation, outcome, _: pages.append(operation))
    informer = Informer(ListWatch(caller, JOBSINKS, namespace), name="paged", page_size=3)
    informer.start()
    try:
        assert informer.wait_synced(TIMEOUT)
        assert sorted(name for _, name in informer.stored_keys()) == [
            f"paged-{i}" for i in range(7)
        ]
        assert pages == ["list_jobsink"] * 3
        assert informer.resource_version
    finally:
        informer.stop()


def test_metadata_only_informer_follows_labelled_jobs(
    api_client: client.ApiClient, namespace: str, kubectl: Any
) -> None:
    """What the receiver's Job index runs on: only labelled Jobs, only their metadata."""
    source = ListWatch(
        Caller(api_client), JOBS, namespace, label_selector="picked", metadata_only=True
    )
    informer = Informer(source, name="jobs-metadata")
    informer.start()
    try:
        assert informer.wait_synced(TIMEOUT)
        for name, labels in (("picked", "picked=yes"), ("ignored", "other=yes")):
            job = kubectl(
                "create", "job", name, "-n", namespace, "--image=busybox", "--dry-run=client",
                "-o", "json",
            ).stdout  # fmt: skip
            labelled = json.loads(job)
            key, _, value = labels.partition("=")
            labelled["metadata"]["labels"] = {key: value}
            kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(labelled))
        wait_for(lambda: informer.get(namespace, "picked"), what="ADDED", timeout=TIMEOUT)
        seen = informer.get(namespace, "picked")
        assert seen is not None
        assert seen["kind"] == "PartialObjectMetadata"
        assert "spec" not in seen
        assert informer.get(namespace, "ignored") is None
        kubectl("delete", "job", "picked", "-n", namespace, "--cascade=background")
        wait_for(lambda: informer.get(namespace, "picked") is None, what="DELETED", timeout=TIMEOUT)
    finally:
        informer.stop()


@pytest.mark.slow
def test_bookmarks_move_the_resource_version(
    api_client: client.ApiClient, objects: client.CustomObjectsApi, namespace: str, kubectl: Any
) -> None:
    """The apiserver sends BOOKMARKs about a minute into a watch: the cache's resourceVersion
    moves with them although its namespace saw no event, so a resumed watch starts close to now
    instead of replaying, or outliving, a long history."""
    cache = SinkCache(api_client, namespace=namespace, watch_timeout=90)
    cache.start()
    try:
        assert cache.wait_synced(TIMEOUT)
        listed = int(cache.resource_version)
        elsewhere = f"{namespace}-other"
        kubectl("create", "namespace", elsewhere)
        try:
            create(objects, elsewhere, "unseen")  # moves the cluster's resourceVersion only
            wait_for(lambda: int(cache.resource_version) > listed, what="a BOOKMARK", timeout=120)
            assert len(cache) == 0
        finally:
            kubectl("delete", "namespace", elsewhere, "--wait=false")
    finally:
        cache.stop()
