"""Events end to end: ``jobsink receiver`` processes against the real local control plane.

The control plane has no kubelet, so Pods are created by the job controller but never run: the
scenarios check what is created (Job, Secret, Pod spec), not what the container prints.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from controlplane import ControlPlane
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import wait_for
from jobsink.event import CloudEvent, json_data, text_data
from jobsink.names import ANNOTATION_EVENT_STORED, LABEL_SINK_ID, LABEL_SINK_NAME, job_name
from jobsink.render import render
from receiver.settings import MAX_EVENT_BYTES
from tests.e2e.services import RunningReceiver, start_receiver
from tests.e2e.support import EXAMPLES
from tests.seed import SEED_BODY, SEED_EVENT, SEED_HEADERS

WAIT = 60.0


@pytest.fixture(scope="module")
def second_receiver(
    control_plane: ControlPlane, receiver: RunningReceiver
) -> Iterator[RunningReceiver]:
    running = start_receiver(control_plane, name="receiver-2")
    try:
        yield running
    finally:
        running.stop()


def get_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def apply_example(plane: ControlPlane, namespace: str, example: str) -> dict[str, Any]:
    plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    name = yaml.safe_load((EXAMPLES / example).read_text())["metadata"]["name"]
    return dict(get_json(plane, "jobsink", name, "-n", namespace))


def post(receiver: RunningReceiver, namespace: str, sink: str, body: bytes = SEED_BODY,
         **headers: str) -> httpx.Response:  # fmt: skip
    # JSON asked for: the answer then names the Job (a plain 202 has an empty body).
    merged = {**SEED_HEADERS, "accept": "application/json",
              **{k.replace("_", "-"): v for k, v in headers.items()}}  # fmt: skip
    return httpx.post(
        f"{receiver.url}/{namespace}/{sink}", content=body, headers=merged, timeout=30
    )


def count(plane: ControlPlane, kind: str, namespace: str, selector: str = LABEL_SINK_ID) -> int:
    return len(get_json(plane, kind, "-n", namespace, "-l", selector)["items"])


def stored_event(plane: ControlPlane, namespace: str, name: str) -> bytes:
    secret = get_json(plane, "secret", name, "-n", namespace)
    return base64.b64decode(secret["data"]["event"])


def eventually(condition: Callable[[], bool], what: str) -> None:
    wait_for(condition, what=what, timeout=WAIT)


def test_seed_curl_creates_the_job_its_secret_and_a_pod(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    sink = apply_example(control_plane, namespace, "job-sink-logger.yaml")
    response = post(receiver, namespace, "job-sink-logger")
    assert response.status_code == 202, response.text
    name = job_name("job-sink-logger", "my/curl/command", "123")
    assert response.json()["job"] == name
    assert response.headers["location"] == (
        f"/namespaces/{namespace}/name/job-sink-logger/sources/my%2Fcurl%2Fcommand/ids/123"
    )
    job = get_json(control_plane, "job", name, "-n", namespace)
    meta = job["metadata"]
    assert meta["labels"][LABEL_SINK_NAME] == "job-sink-logger"
    assert meta["labels"][LABEL_SINK_ID] == name
    (owner,) = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "JobSink", "job-sink-logger", sink["metadata"]["uid"],
    )  # fmt: skip
    pod_spec = job["spec"]["template"]["spec"]
    assert {"name": "jobsink-event", "secret": {"secretName": name, "defaultMode": 420}} in (
        pod_spec["volumes"]
    )
    (container,) = pod_spec["containers"]
    assert {"name": "jobsink-event", "mountPath": "/etc/jobsink-event", "readOnly": True} in (
        container["volumeMounts"]
    )
    assert stored_event(control_plane, namespace, name) == SEED_EVENT
    secret = get_json(control_plane, "secret", name, "-n", namespace)
    (secret_owner,) = secret["metadata"]["ownerReferences"]
    assert (secret_owner["kind"], secret_owner["uid"]) == ("Job", meta["uid"])
    assert secret["immutable"] is True

    def pod_mounts_the_event() -> bool:
        pods = get_json(control_plane, "pods", "-n", namespace, "-l", f"job-name={name}")["items"]
        return any(
            v.get("secret", {}).get("secretName") == name
            for pod in pods
            for v in pod["spec"]["volumes"]
        )

    eventually(pod_mounts_the_event, "the job controller's Pod with the event volume")

    status = httpx.get(receiver.url + response.headers["location"])
    assert status.status_code == 202
    assert status.json()["state"] == "Running"


def test_custom_mount_path_example(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    apply_example(control_plane, namespace, "job-sink-custom-mount-path.yaml")
    response = post(receiver, namespace, "job-sink-custom-mount-path")
    assert response.status_code == 202, response.text
    job = get_json(control_plane, "job", response.json()["job"], "-n", namespace)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    mounts = [m for m in container["volumeMounts"] if m["name"] == "jobsink-event"]
    assert [m["mountPath"] for m in mounts] == ["/etc/custom-path"]
    assert {"name": "K_EVENT_PATH", "value": "/etc/custom-path"} in container["env"]


def test_structured_mode_and_duplicates_create_nothing_more(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    apply_example(control_plane, namespace, "job-sink-logger.yaml")
    event = {"specversion": "1.0", "id": "s-1", "source": "structured", "type": "t", "data": [1]}
    responses = [
        httpx.post(
            f"{receiver.url}/{namespace}/job-sink-logger",
            content=json.dumps(event),
            headers={"content-type": "application/cloudevents+json", "accept": "application/json"},
        )
        for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [202, 202, 202]
    assert [r.json()["outcome"] for r in responses] == ["created", "duplicate", "duplicate"]
    assert len({r.headers["location"] for r in responses}) == 1
    assert (
        count(control_plane, "jobs", namespace) == count(control_plane, "secrets", namespace) == 1
    )
    name = responses[0].json()["job"]
    assert stored_event(control_plane, namespace, name) == (
        b'{"specversion":"1.0","id":"s-1","source":"structured","type":"t","data":[1]}'
    )


def test_100_concurrent_deliveries_across_two_receivers_make_one_job(
    control_plane: ControlPlane,
    receiver: RunningReceiver,
    second_receiver: RunningReceiver,
    namespace: str,
) -> None:
    apply_example(control_plane, namespace, "job-sink-logger.yaml")
    targets = [receiver, second_receiver] * 50
    with ThreadPoolExecutor(len(targets)) as pool:
        responses = list(
            pool.map(lambda r: post(r, namespace, "job-sink-logger", ce_id="race"), targets)
        )
    assert [r.status_code for r in responses] == [202] * 100, {r.text for r in responses}
    assert len({r.json()["job"] for r in responses}) == 1
    assert count(control_plane, "jobs", namespace) == 1
    assert count(control_plane, "secrets", namespace) == 1


def text_body_for_stored_size(size: int) -> bytes:
    attributes = {k[3:]: v for k, v in SEED_HEADERS.items() if k.startswith("ce-")}
    empty = CloudEvent.from_attributes(
        {**attributes, "datacontenttype": "text/plain"}, text_data("")
    )
    return b"a" * (size - len(empty.to_json()))


def test_size_boundary_against_the_apiserver(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str, tmp_path: Path
) -> None:
    apply_example(control_plane, namespace, "job-sink-logger.yaml")
    body = text_body_for_stored_size(MAX_EVENT_BYTES)
    largest = post(receiver, namespace, "job-sink-logger", body=body, content_type="text/plain")
    assert largest.status_code == 202, largest.text
    assert len(stored_event(control_plane, namespace, largest.json()["job"])) == MAX_EVENT_BYTES
    body = text_body_for_stored_size(MAX_EVENT_BYTES + 1)
    over = post(
        receiver, namespace, "job-sink-logger", body=body, ce_id="124", content_type="text/plain"
    )
    assert over.status_code == 413
    assert count(control_plane, "jobs", namespace) == 1
    # The limit is the apiserver's own: one byte more in a Secret is refused.
    too_big = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "too-big", "namespace": namespace},
        "data": {"event": base64.b64encode(b"a" * (MAX_EVENT_BYTES + 1)).decode()},
    }
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(too_big))
    refused = control_plane.kubectl("create", "-f", str(path), check=False)
    assert refused.returncode != 0
    assert "1048576" in refused.stderr


def test_garbage_collection_of_secrets_and_jobs(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    apply_example(control_plane, namespace, "job-sink-logger.yaml")
    first = post(receiver, namespace, "job-sink-logger", ce_id="gc-1").json()["job"]
    post(receiver, namespace, "job-sink-logger", ce_id="gc-2")
    control_plane.kubectl("delete", "job", first, "-n", namespace, "--cascade=background")
    eventually(
        lambda: (
            control_plane.kubectl("get", "secret", first, "-n", namespace, check=False).returncode
            != 0
        ),
        "the deleted Job's Secret to be garbage-collected",
    )
    assert count(control_plane, "secrets", namespace) == 1
    control_plane.kubectl("delete", "jobsink", "job-sink-logger", "-n", namespace)
    eventually(
        lambda: (
            count(control_plane, "jobs", namespace) == 0
            and count(control_plane, "secrets", namespace) == 0
        ),
        "the JobSink's Jobs and their Secrets to be garbage-collected",
    )
    gone = post(receiver, namespace, "job-sink-logger", ce_id="gc-3")
    assert gone.status_code == 404


def test_a_jobsink_created_a_moment_ago_works_at_once(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    apply_example(control_plane, namespace, "job-sink-success.yaml")
    response = post(receiver, namespace, "job-sink-success", ce_id="fresh")
    assert response.status_code == 202, response.text


def test_events_keep_flowing_while_the_webhook_is_down(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    apply_example(control_plane, namespace, "job-sink-logger.yaml")
    dead_webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"dead-{namespace}"},
        "webhooks": [
            {
                "name": "dead.jobsink.test",
                "clientConfig": {"url": "https://127.0.0.1:1/validate"},
                "rules": [
                    {
                        "apiGroups": ["sinks.knative.dev"],
                        "apiVersions": ["v1alpha1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["jobsinks"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(dead_webhook))
    try:
        eventually(
            lambda: (
                control_plane.kubectl(
                    "apply",
                    "-n",
                    namespace,
                    "-f",
                    str(EXAMPLES / "job-sink-success.yaml"),
                    check=False,
                ).returncode
                != 0
            ),
            "the apiserver to refuse JobSinks while their webhook is down",
        )
        response = post(receiver, namespace, "job-sink-logger", ce_id="no-webhook")
        assert response.status_code == 202, response.text
    finally:
        control_plane.kubectl("delete", "validatingwebhookconfiguration", f"dead-{namespace}")


def test_status_shows_url_and_ready(
    control_plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    if control_plane.kubectl("get", "namespace", "knative-eventing", check=False).returncode:
        control_plane.kubectl("create", "namespace", "knative-eventing", check=False)  # the Lease
    apply_example(control_plane, namespace, "job-sink-logger.yaml")

    def ready() -> bool:
        sink = get_json(control_plane, "jobsink", "job-sink-logger", "-n", namespace)
        status = sink.get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        url = (status.get("address") or {}).get("url") or ""
        return conditions.get("Ready") == "True" and url.endswith(f"/{namespace}/job-sink-logger")

    eventually(ready, "the JobSink to be Ready with an address")
    table = control_plane.kubectl("get", "jobsinks", "-n", namespace).stdout
    assert f"/{namespace}/job-sink-logger" in table
    assert "True" in table


def finish_pods(plane: ControlPlane, namespace: str, job: str, phase: str, exit_code: int) -> None:
    """Play the kubelet (there is none): mark the Job's Pods as ended with ``exit_code``."""

    def pods() -> list[dict[str, Any]]:
        found = get_json(plane, "pods", "-n", namespace, "-l", f"job-name={job}")["items"]
        return list(found)

    eventually(lambda: bool(pods()), f"the job controller to create a Pod for {job}")
    for pod in pods():
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        terminated = {"exitCode": exit_code, "startedAt": now, "finishedAt": now,
                      "reason": "Completed" if exit_code == 0 else "Error"}  # fmt: skip
        status = {
            "phase": phase,
            "containerStatuses": [
                {"name": c["name"], "image": c["image"], "imageID": "", "ready": False,
                 "restartCount": 0, "state": {"terminated": terminated}}
                for c in pod["spec"]["containers"]
            ],
        }  # fmt: skip
        patched = plane.kubectl(
            "patch", "pod", pod["metadata"]["name"], "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps({"status": status}), check=False,
        )  # fmt: skip
        # A Pod failed by the example's exit code fails its Job at once (podFailurePolicy
        # FailJob), and the job controller then deletes the Job's other Pods: those are gone.
        if patched.returncode != 0 and "NotFound" not in patched.stderr:
            raise AssertionError(f"kubectl patch pod: {patched.stderr}")


@pytest.mark.parametrize(
    ("example", "phase", "exit_code", "status", "reason"),
    [
        pytest.param("job-sink-logger.yaml", "Succeeded", 0, 200, "Complete", id="complete"),
        pytest.param("job-sink-failure.yaml", "Failed", 42, 400, "Failed", id="failed"),
    ],
)
def test_get_on_location_follows_the_job_to_its_end(
    control_plane: ControlPlane,
    receiver: RunningReceiver,
    namespace: str,
    example: str,
    phase: str,
    exit_code: int,
    status: int,
    reason: str,
) -> None:
    sink = apply_example(control_plane, namespace, example)["metadata"]["name"]
    accepted = post(receiver, namespace, sink)
    assert accepted.status_code == 202, accepted.text
    location = receiver.url + accepted.headers["location"]
    assert httpx.get(location).status_code == 202
    job = accepted.json()["job"]
    finish_pods(control_plane, namespace, job, phase, exit_code)
    eventually(lambda: httpx.get(location).status_code == status, f"GET Location to say {reason}")
    answer = httpx.get(location)
    assert answer.headers["reason"] == reason
    assert answer.json()["state"] == reason


def test_the_sweeper_deletes_a_job_whose_secret_never_came(
    control_plane: ControlPlane, jobsink_crd: list[str], namespace: str
) -> None:
    sink = apply_example(control_plane, namespace, "job-sink-logger.yaml")
    template = yaml.safe_load((EXAMPLES / "job-sink-logger.yaml").read_text())
    name = job_name("job-sink-logger", "swept/source", "1")
    owner = {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "name": "job-sink-logger",
        "uid": sink["metadata"]["uid"],
    }
    # What a delivery that failed between its two writes leaves: the Job, no Secret.
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_SINK_NAME: "job-sink-logger", LABEL_SINK_ID: name},
            "ownerReferences": [owner],
        },
        "spec": template["spec"]["job"]["spec"],
    }
    control_plane.kubectl("create", "-f", "-", input=json.dumps(job))
    port = free_ports(1)[0]
    argv = [
        str(Path(sys.executable).parent / "jobsink"),
        "receiver",
        f"--host={LOOPBACK}",
        f"--port={port}",
        f"--kubeconfig={control_plane.kubeconfig}",
        f"--namespace={namespace}",
        "--no-status",
    ]
    # The grace must outlast a delivery (request deadline + 5 s): a short deadline keeps it short.
    sweep_fast = {
        "JOBSINK_RECEIVER_SWEEP_INTERVAL_SECONDS": "1",
        "JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS": "7",
        "JOBSINK_RECEIVER_REQUEST_TIMEOUT": "2",
    }
    sweeping = control_plane.spawn("receiver-sweeping", argv, env=sweep_fast)
    try:
        eventually(
            lambda: (
                control_plane.kubectl("get", "job", name, "-n", namespace, check=False).returncode
                != 0
            ),
            "the sweeper to delete the Secret-less Job",
        )
        # A complete pair next to it is left alone, however old it gets.
        kept = post(RunningReceiver(sweeping, port), namespace, "job-sink-logger", ce_id="kept")
        assert kept.status_code == 202, kept.text
        time.sleep(9)  # two sweeps past the grace period
        assert (
            control_plane.kubectl("get", "job", kept.json()["job"], "-n", namespace).returncode == 0
        )
    finally:
        sweeping.stop()


def test_a_redelivery_completes_a_job_left_without_its_secret(
    control_plane: ControlPlane, jobsink_crd: list[str], namespace: str, receiver: RunningReceiver
) -> None:
    """A delivery that failed between its two writes left the Job alone. The redelivery stores
    the event, owned by that very Job, and marks the Job (the write a racing sweeper sees)."""
    sink = apply_example(control_plane, namespace, "job-sink-logger.yaml")
    rendered = render(sink, CloudEvent.from_attributes(
        {k[3:]: v for k, v in SEED_HEADERS.items() if k.startswith("ce-")}
        | {"datacontenttype": "application/json"},
        json_data({"details": "JobSinkDemo"}),
    ))  # fmt: skip
    control_plane.kubectl("create", "-f", "-", input=json.dumps(rendered.job))
    before = get_json(control_plane, "job", rendered.name, "-n", namespace)["metadata"]

    answer = post(receiver, namespace, "job-sink-logger")

    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "completed"
    job = get_json(control_plane, "job", rendered.name, "-n", namespace)["metadata"]
    assert job["uid"] == before["uid"]
    assert job["annotations"][ANNOTATION_EVENT_STORED] == "true"
    assert job["resourceVersion"] != before["resourceVersion"]
    secret = get_json(control_plane, "secret", rendered.name, "-n", namespace)
    assert secret["metadata"]["ownerReferences"][0]["uid"] == before["uid"]
    assert stored_event(control_plane, namespace, rendered.name) == SEED_EVENT
