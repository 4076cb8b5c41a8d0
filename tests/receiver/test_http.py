"""The HTTP contract, against the real uvicorn server on loopback (HTTP and HTTPS).

Kubernetes is the FAKE apiserver of ``fake_kube``; the JobSink lookup is a fixed table. Every
status code of the contract has a case here.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from certs.authority import CertificateAuthority
from jobsink.event import CloudEvent, text_data
from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.app import create_app
from receiver.controller.sinks import SinkCache
from receiver.dataplane.handler import DataPlane
from receiver.dataplane.refusals import Rejection
from receiver.metrics import Metrics
from receiver.protocol import WriteProtocol
from receiver.settings import MAX_EVENT_BYTES, LimitSettings
from tests.receiver.fake_kube import FakeKubeApi
from tests.seed import SEED_BODY, SEED_HEADERS, SEED_LOCATION


@dataclass
class StaticSinks:
    """Stands in for the JobSink watch cache (tested on its own in the e2e suite)."""

    sinks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    synced: bool = True

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.sinks.get((namespace, name))

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.sinks.get((namespace, name))


@dataclass
class Served:
    url: str
    fake: FakeKubeApi
    sinks: StaticSinks
    plane: DataPlane


@contextmanager
def serve(plane: DataPlane, cert: str | None = None, key: str | None = None) -> Iterator[str]:
    config = uvicorn.Config(
        create_app(plane),
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="on",
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if cert else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def make_plane(
    fake_url: str, sinks: StaticSinks, attempt_timeout: float = 0.5, **limits: Any
) -> DataPlane:
    metrics = Metrics()
    api = FakeKubeApi.api_client(fake_url)
    caller = Caller(
        api,
        observe=metrics.observe_kube_call,
        attempt_timeout=attempt_timeout,
        base_backoff=0.01,
        max_backoff=0.05,
    )
    jobs = object_client.jobs(caller)
    protocol = WriteProtocol(jobs, object_client.secrets(caller))
    return DataPlane(LimitSettings(**limits), sinks, protocol, jobs, metrics=metrics)


@pytest.fixture
def served(fake: FakeKubeApi, fake_url: str, sink: dict[str, Any]) -> Iterator[Served]:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks, request_timeout=1.0, body_timeout=0.5)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


def post(served: Served, body: bytes = SEED_BODY, path: str = "/default/job-sink-logger",
         **headers: str) -> httpx.Response:  # fmt: skip
    merged = {**SEED_HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return httpx.post(served.url + path, content=body, headers=merged, timeout=10)


def test_seed_curl_gets_202_with_location_and_an_empty_body(served: Served) -> None:
    # curl sends "Accept: */*"; a CloudEvents sender (Knative's Broker) reads a body as a reply.
    response = post(served, accept="*/*")
    assert response.status_code == 202
    assert response.headers["location"] == SEED_LOCATION
    assert (response.content, response.headers["content-length"]) == (b"", "0")
    assert "content-type" not in response.headers
    assert len(served.fake.of("jobs")) == 1
    assert len(served.fake.of("secrets")) == 1


@pytest.mark.parametrize("accept", ["application/json", "text/plain, application/json;q=0.5"])
def test_a_client_asking_for_json_gets_the_job_name_and_outcome(
    served: Served, accept: str
) -> None:
    response = post(served, accept=accept)
    assert response.status_code == 202
    assert response.headers["location"] == SEED_LOCATION
    (job,) = served.fake.of("jobs")
    assert response.json() == {
        "namespace": "default",
        "job": job["metadata"]["name"],
        "location": SEED_LOCATION,
        "outcome": "created",
    }
    assert len(served.fake.of("secrets")) == 1


def test_structured_mode_gets_202(served: Served) -> None:
    event = {"specversion": "1.0", "id": "s1", "source": "src", "type": "t", "data": {"k": 1}}
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"].endswith("/sources/src/ids/s1")


def test_duplicate_gets_the_same_202_and_writes_nothing(served: Served) -> None:
    first = post(served)
    writes = len(served.fake.writes())
    second = post(served, accept="application/json")
    assert (second.status_code, second.headers["location"]) == (202, first.headers["location"])
    assert second.json()["outcome"] == "duplicate"
    assert len(served.fake.writes()) == writes


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        pytest.param("POST", "/default/unknown-sink", 404, None, id="unknown-jobsink"),
        pytest.param("POST", "/default", 404, None, id="malformed-short"),
        pytest.param("POST", "/default/job-sink-logger/extra", 404, None, id="malformed-long"),
        pytest.param("POST", "/Default/X", 404, None, id="malformed-names"),
        pytest.param("GET", "/default/job-sink-logger", 405, "POST", id="get-on-sink"),
        pytest.param("PUT", "/default/job-sink-logger", 405, "POST", id="put-on-sink"),
        pytest.param("DELETE", SEED_LOCATION, 405, "GET, HEAD", id="delete-on-location"),
        pytest.param(
            "GET",
            "/namespaces/default/name/nope/sources/a/ids/b",
            404,
            None,
            id="location-unknown-jobsink",
        ),
        pytest.param("GET", SEED_LOCATION, 404, None, id="location-unknown-job"),
    ],
)
def test_paths_and_methods(
    served: Served, method: str, path: str, status: int, allow: str | None
) -> None:
    response = httpx.request(method, served.url + path, headers=SEED_HEADERS, content=SEED_BODY)
    assert response.status_code == status
    assert response.headers.get("allow") == allow
    assert "error" in response.json()
    assert served.fake.writes() == []


@pytest.mark.parametrize(
    ("headers", "status", "attribute"),
    [
        pytest.param({"ce-id": ""}, 400, "id", id="empty-id"),
        pytest.param({"ce-source": ""}, 400, "source", id="empty-source"),
        pytest.param({"ce-specversion": "0.2"}, 400, "specversion", id="bad-specversion"),
        pytest.param({"ce-id": "%zz"}, 400, "id", id="bad-percent"),
        pytest.param({"ce-id": "%C3%28"}, 400, "id", id="bad-utf8"),
        pytest.param({"content-type": "application/cloudevents+avro"}, 415, None, id="avro"),
    ],
)
def test_bad_events_are_refused_with_the_attribute_named(
    served: Served, headers: dict[str, str], status: int, attribute: str | None
) -> None:
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=SEED_BODY,
        headers={**SEED_HEADERS, **headers},
    )
    assert response.status_code == status
    assert response.json().get("attribute") == attribute
    assert served.fake.writes() == []


def test_missing_id_is_refused_not_invented(served: Served) -> None:
    headers = {k: v for k, v in SEED_HEADERS.items() if k != "ce-id"}
    response = httpx.post(served.url + "/default/job-sink-logger", headers=headers, content=b"{}")
    assert response.status_code == 400
    assert response.json()["attribute"] == "id"


def test_batch_mode_processes_every_event(served: Served) -> None:
    base = {"specversion": "1.0", "source": "batch", "type": "t"}
    batch = [{**base, "id": "1"}, {**base, "id": ""}, {**base, "id": "3"}]
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=json.dumps(batch),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 400  # one event is wrong: retrying would not help
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 400, 202]
    assert results[1]["attribute"] == "id"
    assert results[2]["location"].endswith("/sources/batch/ids/3")
    assert len(served.fake.of("jobs")) == 2


def test_batch_all_valid_is_202(served: Served) -> None:
    base = {"specversion": "1.0", "source": "batch", "type": "t"}
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=json.dumps([{**base, "id": str(i)} for i in range(5)]),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 202
    assert len(served.fake.of("jobs")) == len(served.fake.of("secrets")) == 5


def text_body_for_stored_size(size: int) -> bytes:
    """A text/plain body whose stored event JSON (SEED attributes) is exactly ``size`` bytes."""
    attributes = {k[3:]: v for k, v in SEED_HEADERS.items() if k.startswith("ce-")}
    empty = CloudEvent.from_attributes(
        {**attributes, "datacontenttype": "text/plain"}, text_data("")
    )
    return b"a" * (size - len(empty.to_json()))


@pytest.mark.parametrize(
    ("stored", "status"),
    [(MAX_EVENT_BYTES, 202), (MAX_EVENT_BYTES + 1, 413)],
    ids=["exactly-1MiB-fits", "one-byte-over"],
)
def test_size_boundary_is_the_stored_event(served: Served, stored: int, status: int) -> None:
    body = text_body_for_stored_size(stored)
    response = post(served, body=body, content_type="text/plain")
    assert response.status_code == status, response.text
    assert len(served.fake.of("jobs")) == (1 if status == 202 else 0)


def test_source_too_long_for_the_job_annotations_is_413_before_any_write(served: Served) -> None:
    # The body fits a Secret, but source + id are stored as Job annotations (256 KiB in all).
    structured = {"specversion": "1.0", "id": "1", "source": "s" * (300 * 1024), "type": "t"}
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=json.dumps(structured),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 413, response.text
    assert "source" in response.text
    assert served.fake.writes() == []


def test_body_over_the_limit_is_refused_from_content_length(served: Served) -> None:
    response = post(served, body=b"x" * (MAX_EVENT_BYTES + 1), content_type="text/plain")
    assert response.status_code == 413
    assert served.fake.calls == []


def test_body_over_the_limit_is_refused_while_streaming(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB in total, no Content-Length: chunked

    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=chunks(),
        headers={**SEED_HEADERS, "content-type": "text/plain"},
    )
    assert response.status_code == 413
    assert served.fake.writes() == []


def test_slow_body_gets_408(served: Served) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as conn:
        head = "".join(f"{k}: {v}\r\n" for k, v in SEED_HEADERS.items())
        conn.sendall(
            f"POST /default/job-sink-logger HTTP/1.1\r\nhost: x\r\n{head}"
            "content-length: 100\r\n\r\n{".encode()
        )
        conn.settimeout(5)
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")


def test_inflight_limit_answers_429_at_once(
    fake: FakeKubeApi, fake_url: str, sink: dict[str, Any]
) -> None:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks, 30.0, max_inflight=1, retry_after_seconds=2)
    hold = threading.Event()
    fake.fail("GET", "jobs", hold=hold)  # the first request stays in flight until released
    with serve(plane) as url:
        served = Served(url, fake, sinks, plane)
        slow = threading.Thread(target=post, args=(served,))
        slow.start()
        while not fake.calls:
            time.sleep(0.01)
        refused = post(served, ce_id="other")
        still_in_flight = slow.is_alive()
        hold.set()
        slow.join()
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert still_in_flight  # answered while the slot was taken: not queued behind it
    assert len(fake.of("jobs")) == 1  # the refused event created nothing


def test_apiserver_unavailable_is_503_with_retry_after(served: Served) -> None:
    served.fake.fail("POST", "jobs", status=500, times=1000)
    response = post(served)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "kubernetes API" in response.json()["error"]


def test_job_of_another_event_is_409(served: Served) -> None:
    post(served)
    (job,) = served.fake.of("jobs")
    job["metadata"]["annotations"]["sinks.knative.dev/event-source"] = "someone/else"
    for secret in served.fake.of("secrets"):
        served.fake.objects.pop(("secrets", "default", secret["metadata"]["name"]))
    response = post(served)
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("conditions", "status", "reason", "state"),
    [
        pytest.param([], 202, None, "Running", id="running"),
        pytest.param([("Complete", "True")], 200, "Complete", "Complete", id="complete"),
        pytest.param(
            [("SuccessCriteriaMet", "True")], 200, "Complete", "Complete", id="success-criteria"
        ),
        pytest.param([("Failed", "True")], 400, "Failed", "Failed", id="failed"),
        pytest.param([("FailureTarget", "True")], 400, "Failed", "Failed", id="failure-target"),
        pytest.param([("Failed", "False")], 202, None, "Running", id="condition-false"),
        pytest.param([("Suspended", "True")], 202, None, "Running", id="suspended-condition-only"),
    ],
)
def test_get_location_reports_the_job(
    served: Served, conditions: list[tuple[str, str]], status: int, reason: str | None, state: str
) -> None:
    location = post(served).headers["location"]
    (job,) = served.fake.of("jobs")
    job["status"] = {"conditions": [{"type": t, "status": s} for t, s in conditions]}
    response = httpx.get(served.url + location)
    assert response.status_code == status
    assert response.headers.get("reason") == reason
    body = response.json()
    assert (body["job"], body["state"]) == (job["metadata"]["name"], state)
    assert [c["type"] for c in body["conditions"]] == [t for t, _ in conditions]


@pytest.mark.parametrize(
    ("labels", "state", "details"),
    [
        pytest.param(
            {"kueue.x-k8s.io/queue-name": "user-queue"},
            "Queued",
            {"queue": "user-queue"},
            id="held-by-kueue",
        ),
        pytest.param({}, "Suspended", {}, id="held-by-its-spec"),
    ],
)
def test_get_location_reports_a_suspended_job_as_waiting(
    served: Served, labels: dict[str, str], state: str, details: dict[str, str]
) -> None:
    location = post(served).headers["location"]
    (job,) = served.fake.of("jobs")
    job["metadata"]["labels"].update(labels)
    job["spec"]["suspend"] = True
    suspended = {"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "m"}
    job["status"] = {"conditions": [suspended]}
    response = httpx.get(served.url + location)
    assert response.status_code == 202
    assert response.headers["location"] == location
    assert "reason" not in response.headers
    body = response.json()
    assert body["state"] == state
    assert {k: body[k] for k in ("queue", "reason", "message") if k in body} == {
        **details,
        "reason": "JobSuspended",
        "message": "m",
    }


@pytest.mark.parametrize(
    ("source", "id"),
    [("a/b c", "x%y"), ("ünï/cødé", "😀/1"), ("https://s/?q=1#f", "..")],
    ids=["slash-space-percent", "unicode", "url"],
)
def test_location_round_trips_through_http(served: Served, source: str, id: str) -> None:
    from urllib.parse import quote

    response = post(served, ce_source=quote(source, safe=""), ce_id=quote(id, safe=""))
    assert response.status_code == 202, response.text
    (job,) = served.fake.of("jobs")
    annotations = job["metadata"]["annotations"]
    assert (
        annotations["sinks.knative.dev/event-source"],
        annotations["sinks.knative.dev/event-id"],
    ) == (source, id)
    status = httpx.get(served.url + response.headers["location"])
    assert status.status_code == 202
    assert status.json()["job"] == job["metadata"]["name"]


def test_health_readiness_and_metrics(served: Served) -> None:
    assert httpx.get(served.url + "/healthz").status_code == 200
    assert httpx.get(served.url + "/readyz").status_code == 200
    served.sinks.synced = False
    assert httpx.get(served.url + "/readyz").status_code == 503
    served.sinks.synced = True
    served.plane.draining = True
    assert httpx.get(served.url + "/readyz").json()["reason"] == "draining"
    served.plane.draining = False
    post(served)
    post(served)
    post(served, ce_id="")
    text = httpx.get(served.url + "/metrics").text
    for metric in (
        'jobsink_events_accepted_total{outcome="created"}',
        "jobsink_events_duplicate_total",
        'jobsink_events_rejected_total{reason="invalid"}',
        "jobsink_jobs_created_total",
        'jobsink_kube_request_duration_seconds_count{code="201",operation="create_job"}',
    ):
        assert metric in text


def test_https(fake_url: str, sink: dict[str, Any], tmp_path: Path, fake: FakeKubeApi) -> None:
    authority = CertificateAuthority.create()
    pair = authority.issue_server(dns_names=["localhost"], ips=["127.0.0.1"])
    (tmp_path / "tls.crt").write_bytes(pair.cert_pem)
    (tmp_path / "tls.key").write_bytes(pair.key_pem)
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks)
    with serve(plane, str(tmp_path / "tls.crt"), str(tmp_path / "tls.key")) as url:
        context = ssl.create_default_context(cadata=authority.cert_pem.decode())
        response = httpx.post(
            url + "/default/job-sink-logger",
            headers=SEED_HEADERS,
            content=SEED_BODY,
            verify=context,
        )
    assert response.status_code == 202
    assert len(fake.of("secrets")) == 1


def test_head_on_location_answers_like_get_without_a_body(served: Served) -> None:
    location = post(served).headers["location"]
    response = httpx.head(served.url + location)
    assert response.status_code == 202
    assert response.content == b""


def test_a_jobsink_that_cannot_be_rendered_is_a_json_500(served: Served) -> None:
    served.sinks.sinks[("default", "broken")] = {
        "metadata": {"name": "broken", "namespace": "default", "uid": "u"},
        "spec": {},  # no spec.job: admitted while the webhook was down
    }
    response = post(served, path="/default/broken")
    assert response.status_code == 500
    assert "internal error" in response.json()["error"]
    assert served.fake.writes() == []


def test_apiserver_unavailable_for_the_jobsink_lookup_is_503_with_retry_after(
    fake: FakeKubeApi, fake_url: str
) -> None:
    """A JobSink the watch has not seen is read live; that read failing is the apiserver's
    trouble, not a bug: 503 + Retry-After like any other call, not an "internal error" 500."""
    fake.fail("GET", "", status=503, times=1000)  # "": the fake routes no JobSink paths
    api = FakeKubeApi.api_client(fake_url)
    plane = make_plane(fake_url, StaticSinks(), request_timeout=1.0)
    plane.sinks = SinkCache(api)  # never started: every lookup is a live GET
    try:
        with serve(plane) as url:
            response = post(Served(url, fake, StaticSinks(), plane))
    finally:
        api.close()  # type: ignore[no-untyped-call]
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "kubernetes API" in response.json()["error"]
    assert fake.writes() == []


def test_batch_with_a_retryable_failure_is_503_with_retry_after(served: Served) -> None:
    served.fake.fail("POST", "jobs", status=500, times=1000)
    base = {"specversion": "1.0", "source": "batch", "type": "t"}
    response = httpx.post(
        served.url + "/default/job-sink-logger",
        content=json.dumps([{**base, "id": "1"}, {**base, "id": ""}]),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 503  # retrying the whole batch is safe and will help
    assert response.headers["retry-after"] == "1"
    assert [r["status"] for r in response.json()["results"]] == [503, 400]


def test_batch_over_the_event_limit_is_413_before_any_write(
    fake: FakeKubeApi, fake_url: str, sink: dict[str, Any]
) -> None:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks, max_batch_events=2)
    base = {"specversion": "1.0", "source": "batch", "type": "t"}
    with serve(plane) as url:
        response = httpx.post(
            url + "/default/job-sink-logger",
            content=json.dumps([{**base, "id": str(i)} for i in range(3)]),
            headers={"content-type": "application/cloudevents-batch+json"},
        )
    assert response.status_code == 413
    assert "at most 2" in response.json()["error"]
    assert fake.writes() == []


def test_method_refusal_names_the_allowed_methods_in_its_header_only(served: Served) -> None:
    response = httpx.get(served.url + "/default/job-sink-logger")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json() == {"error": "method GET not allowed here"}


class RefuseEveryone:
    """A test authorizer: shows where the authorization step sits, not how to authenticate."""

    async def authorize(self, subject: Any, sink: dict[str, Any], decoded: Any) -> None:
        raise Rejection(403, f"not allowed to send to {sink['metadata']['name']}")


def test_authorization_refuses_after_decoding_and_before_any_write(served: Served) -> None:
    served.plane.authorizer = RefuseEveryone()
    assert post(served, ce_id="").status_code == 400  # a bad event is refused by decoding first
    response = post(served)
    assert response.status_code == 403
    assert response.json() == {"error": "not allowed to send to job-sink-logger"}
    assert served.fake.calls == []


def test_each_data_plane_counts_on_its_own_registry(
    served: Served, fake_url: str, sink: dict[str, Any]
) -> None:
    other = make_plane(fake_url, StaticSinks({("default", "job-sink-logger"): sink}))
    post(served)
    with serve(other) as url:
        text = httpx.get(url + "/metrics").text
    assert 'jobsink_events_accepted_total{outcome="created"}' not in text  # nothing sent to it
    assert "jobsink_jobs_swept_total" in text  # the controller parts count on the same registry
    registry = served.plane.metrics.registry
    assert registry.get_sample_value("jobsink_events_accepted_total", {"outcome": "created"}) == 1
