"""EventPolicies on the real apiserver: who may send to a JobSink, which events, what its status
says, and the default mode when no policy (or no EventPolicy CRD) is there.

The receiver runs in this process over the real apiserver: JobSink and EventPolicy watches, the
status reconciler, the data plane on real uvicorn. Most tests use a test double of the
authenticator (``SubjectFromHeaderForTests``), which takes the subject a verified token would
carry from the ``Authorization`` header, so they exercise authorization alone and can name any
subject; one test sends real service-account tokens from ``TokenRequest`` through the real
verifier.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from cli import stack
from controlplane import ControlPlane
from controlplane.readiness import wait_for
from jobsink.types import GROUP, PLURAL, VERSION
from kubeapi import object_client
from kubeapi.calls import Caller
from kubeapi.tokens import request_token
from receiver.app import authenticator as token_authenticator
from receiver.auth.audience import audience_of
from receiver.auth.policy_cache import PolicyCache
from receiver.auth.policy_status import SinkPolicyStatus
from receiver.auth.subject import Subject
from receiver.controller.sinks import SinkCache
from receiver.controller.status import StatusReconciler
from receiver.dataplane.authenticate import Authenticator
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.handler import DataPlane
from receiver.protocol import WriteProtocol
from receiver.settings import AuthenticationSettings, LeaseSettings, LimitSettings, StatusSettings
from tests.e2e import own_plane
from tests.e2e.support import EXAMPLES, REPO
from tests.receiver.test_http import serve

pytestmark = pytest.mark.usefixtures("jobsink_crd")

TIMEOUT = 30.0
FALLBACK_SECONDS = 5.0
"""How soon a deleted policy must stop applying (the watch, not a resync, carries it)."""
SINK = "orders"
SENDER = "system:serviceaccount:team-a:sender"
OTHER = "system:serviceaccount:team-b:intruder"
EVENT_POLICY_CRD = REPO / "crds" / "knative" / "eventpolicy.yaml"
EVENT_POLICY_CRD_NAME = "eventpolicies.eventing.knative.dev"
SCHEME = "Subject"


class SubjectFromHeaderForTests:
    """TEST DOUBLE of the token authenticator: ``Authorization: Subject <sub>`` is taken as a
    verified token of subject ``<sub>``; no header, no subject (as with authentication off)."""

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject | None:
        if not authorization:
            return None
        scheme, _, sub = authorization.partition(" ")
        assert scheme == SCHEME, authorization
        return Subject(sub, "https://kubernetes.default.svc.cluster.local", ("test",))


# This module's own control plane: it installs and removes the EventPolicy CRD, and its status
# reconciler must be the only writer (the session's receiver would be another).
control_plane = own_plane.fixture(own_plane.control_plane)
kubectl = own_plane.fixture(own_plane.kubectl)
api_client = own_plane.fixture(own_plane.api_client)
jobsink_crd = own_plane.fixture(own_plane.jobsink_crd)


def install_event_policy_crd(plane: ControlPlane) -> None:
    plane.kubectl("apply", "-f", str(EVENT_POLICY_CRD))
    wait_for(
        functools.partial(stack.crd_established, plane, EVENT_POLICY_CRD_NAME),
        what="the EventPolicy CRD to be Established",
        timeout=TIMEOUT,
    )


def remove_event_policy_crd(plane: ControlPlane) -> None:
    plane.kubectl("delete", "crd", EVENT_POLICY_CRD_NAME, "--ignore-not-found", "--wait=true")


@pytest.fixture
def event_policy_crd(control_plane: ControlPlane) -> None:
    install_event_policy_crd(control_plane)


@dataclass
class Receiver:
    url: str
    namespace: str
    policies: PolicyCache

    def post(self, sub: str | None, type: str = "com.example.order.created") -> httpx.Response:
        headers = {
            "ce-specversion": "1.0",
            "ce-id": uuid.uuid4().hex,
            "ce-source": "/e2e/authorization",
            "ce-type": type,
            "content-type": "application/json",
        }
        if sub is not None:
            headers["authorization"] = f"{SCHEME} {sub}"
        url = f"{self.url}/{self.namespace}/{SINK}"
        return httpx.post(url, content=b'{"n": 1}', headers=headers, timeout=TIMEOUT)

    def get(self, location: str, sub: str) -> httpx.Response:
        headers = {"authorization": f"{SCHEME} {sub}"}
        return httpx.get(self.url + location, headers=headers, timeout=TIMEOUT)


@contextmanager
def running_receiver(
    api_client: client.ApiClient, namespace: str, authenticator: Authenticator | None = None
) -> Iterator[Receiver]:
    """The receiver's parts for ``namespace``, as ``receiver.app.build`` wires them, with
    authentication on in status (audiences published) and ``authenticator`` (default: the test
    double)."""
    sinks = SinkCache(api_client, namespace=namespace)
    policies = PolicyCache(api_client, namespace=namespace, max_backoff=1.0)
    status = StatusSettings(
        lease=LeaseSettings(namespace=namespace, duration_seconds=4.0, renew_seconds=1.0)
    )
    reconciler = StatusReconciler(
        api_client,
        sinks,
        status,
        "authorization-e2e",
        audiences=True,
        policies=SinkPolicyStatus(
            policies, authentication=True, default_mode="allow-same-namespace"
        ),
    )
    caller = Caller(api_client)
    jobs = object_client.jobs(caller)
    plane = DataPlane(
        LimitSettings(),
        sinks,
        WriteProtocol(jobs, object_client.secrets(caller)),
        jobs,
        namespace=namespace,
        authenticator=authenticator or SubjectFromHeaderForTests(),
        authorizer=EventPolicyAuthorizer(policies, "allow-same-namespace"),
    )
    parts = (policies, sinks, reconciler)
    for part in parts:
        part.start()
    try:
        assert sinks.wait_synced(TIMEOUT)
        assert policies.wait_loaded(TIMEOUT)
        with serve(plane) as url:
            yield Receiver(url, namespace, policies)
    finally:
        for part in reversed(parts):
            part.stop()


@pytest.fixture
def receiver(api_client: client.ApiClient, namespace: str) -> Iterator[Receiver]:
    with running_receiver(api_client, namespace) as running:
        yield running


def apply_sink(kubectl: Callable[..., Any], namespace: str) -> None:
    text = (EXAMPLES / "job-sink-logger.yaml").read_text()
    kubectl("apply", "-n", namespace, "-f", "-", input=text.replace("job-sink-logger", SINK))


def apply_policy(
    kubectl: Callable[..., Any],
    namespace: str,
    name: str,
    subs: tuple[str, ...] = (SENDER,),
    filters: list[dict[str, Any]] | None = None,
) -> None:
    spec: dict[str, Any] = {
        "to": [{"ref": {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JobSink", "name": SINK}}],
        "from": [{"sub": sub} for sub in subs],
    }
    if filters is not None:
        spec["filters"] = filters
    policy = {
        "apiVersion": "eventing.knative.dev/v1alpha1",
        "kind": "EventPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    kubectl("apply", "-f", "-", input=yaml.safe_dump(policy))


def wait_for_policies(receiver: Receiver, *names: str) -> None:
    wait_for(
        lambda: [p.name for p in receiver.policies.in_namespace(receiver.namespace)] == list(names),
        what=f"the receiver to see EventPolicies {names}",
        timeout=TIMEOUT,
    )


def jobs_of(api_client: client.ApiClient, namespace: str) -> int:
    listed = client.BatchV1Api(api_client).list_namespaced_job(
        namespace, label_selector=f"sinks.knative.dev/job-sink-name={SINK}"
    )
    return len(listed.items)


def status_yaml(kubectl: Callable[..., Any], namespace: str) -> dict[str, Any]:
    """The JobSink's status as ``kubectl get -o yaml`` shows it."""
    shown = kubectl("get", f"{PLURAL}.{GROUP}", SINK, "-n", namespace, "-o", "yaml").stdout
    status: dict[str, Any] = yaml.safe_load(shown).get("status") or {}
    return status


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = {c["type"]: c for c in status.get("conditions") or []}
    return found.get(kind) or {}


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("event_policy_crd")
def test_a_policy_admits_its_subject_and_refuses_another(
    kubectl: Callable[..., Any], api_client: client.ApiClient, receiver: Receiver
) -> None:
    apply_sink(kubectl, receiver.namespace)
    apply_policy(kubectl, receiver.namespace, "allow-sender")
    wait_for_policies(receiver, "allow-sender")

    admitted = receiver.post(SENDER)
    assert admitted.status_code == 202, admitted.text
    refused = refusal(receiver.post(OTHER))
    assert refused["reason"] == "no_policy_admits"
    assert f"no EventPolicy admits subject {OTHER}; applying: allow-sender" in refused["error"]
    # Nothing was created for the refused event; the admitted one has its Job.
    assert jobs_of(api_client, receiver.namespace) == 1

    # A GET on the Location is authorized by subject as well.
    location = admitted.headers["location"]
    assert receiver.get(location, SENDER).status_code in (200, 202)
    assert receiver.get(location, OTHER).status_code == 403


@pytest.mark.usefixtures("event_policy_crd")
def test_a_prefix_filter_on_type_admits_one_type_and_refuses_another(
    kubectl: Callable[..., Any], api_client: client.ApiClient, receiver: Receiver
) -> None:
    apply_sink(kubectl, receiver.namespace)
    filters = [{"prefix": {"type": "com.example.valid"}}]
    apply_policy(kubectl, receiver.namespace, "valid-types", filters=filters)
    wait_for_policies(receiver, "valid-types")

    accepted = receiver.post(SENDER, type="com.example.valid.created")
    assert accepted.status_code == 202, accepted.text
    refused = refusal(receiver.post(SENDER, type="com.example.other"))
    assert (refused["reason"], refused["attribute"]) == ("filter_mismatch", "type")
    assert "EventPolicy valid-types admits" in refused["error"]
    assert "'com.example.other', wanted 'com.example.valid'" in refused["error"]
    assert jobs_of(api_client, receiver.namespace) == 1
    # Filters need an event: a GET on the Location is decided by the subject alone.
    assert receiver.get(accepted.headers["location"], SENDER).status_code in (200, 202)


@pytest.mark.usefixtures("event_policy_crd")
def test_deleting_the_policy_falls_back_to_the_default_mode(
    kubectl: Callable[..., Any], receiver: Receiver
) -> None:
    apply_sink(kubectl, receiver.namespace)
    apply_policy(kubectl, receiver.namespace, "allow-sender")
    wait_for_policies(receiver, "allow-sender")
    neighbour = f"system:serviceaccount:{receiver.namespace}:builder"
    assert receiver.post(SENDER).status_code == 202
    assert receiver.post(neighbour).status_code == 403

    kubectl(
        "delete", "eventpolicies.eventing.knative.dev", "allow-sender", "-n", receiver.namespace
    )
    deleted = time.monotonic()
    wait_for(
        lambda: receiver.post(SENDER).status_code == 403,
        what="the deleted policy to stop admitting its subject",
        timeout=FALLBACK_SECONDS,
    )
    assert time.monotonic() - deleted < FALLBACK_SECONDS
    refused = refusal(receiver.post(SENDER))
    assert refused["reason"] == "default_mode"
    assert "allow-same-namespace" in refused["error"]
    assert receiver.post(neighbour).status_code == 202


@pytest.mark.usefixtures("event_policy_crd")
def test_status_lists_applying_policies_and_event_policies_ready(
    kubectl: Callable[..., Any], receiver: Receiver
) -> None:
    namespace = receiver.namespace
    apply_sink(kubectl, namespace)
    wait_for(
        lambda: (
            condition(status_yaml(kubectl, namespace), "EventPoliciesReady").get("reason")
            == "DefaultAuthorizationMode"
        ),
        what="EventPoliciesReady with the default mode",
        timeout=TIMEOUT,
    )
    status = status_yaml(kubectl, namespace)
    assert condition(status, "EventPoliciesReady")["message"] == (
        "Default authz mode is 'allow-same-namespace'"
    )
    assert "policies" not in status

    apply_policy(kubectl, namespace, "allow-sender")
    wait_for(
        lambda: (
            status_yaml(kubectl, namespace).get("policies")
            == [{"apiVersion": "eventing.knative.dev/v1alpha1", "name": "allow-sender"}]
        ),
        what="status.policies to list the policy",
        timeout=TIMEOUT,
    )
    status = status_yaml(kubectl, namespace)
    assert condition(status, "EventPoliciesReady")["status"] == "True"
    assert "reason" not in condition(status, "EventPoliciesReady")
    assert condition(status, "Ready")["status"] == "True"

    # CloudEvents SQL is not evaluated here: the policy is not ready, and neither is the JobSink.
    apply_policy(kubectl, namespace, "sql", filters=[{"cesql": "type LIKE 'com.%'"}])
    wait_for(
        lambda: condition(status_yaml(kubectl, namespace), "Ready").get("status") == "False",
        what="Ready to follow EventPoliciesReady",
        timeout=TIMEOUT,
    )
    status = status_yaml(kubectl, namespace)
    policies_ready = condition(status, "EventPoliciesReady")
    assert (policies_ready["status"], policies_ready["reason"]) == (
        "False",
        "EventPoliciesNotReady",
    )
    assert policies_ready["message"].startswith("event policies sql are not ready (sql: ")
    assert condition(status, "Ready")["reason"] == "EventPoliciesNotReady"
    assert status["policies"] == [
        {"apiVersion": "eventing.knative.dev/v1alpha1", "name": "allow-sender"}
    ]


def test_without_the_crd_the_default_mode_decides_until_it_is_installed(
    control_plane: ControlPlane, kubectl: Callable[..., Any], api_client: client.ApiClient,
    namespace: str,
) -> None:  # fmt: skip
    remove_event_policy_crd(control_plane)
    apply_sink(kubectl, namespace)
    with running_receiver(api_client, namespace) as running:
        states = [running.policies.state]
        neighbour = f"system:serviceaccount:{namespace}:builder"
        assert running.post(neighbour).status_code == 202
        assert refusal(running.post(SENDER))["reason"] == "default_mode"
        wait_for(
            lambda: (
                "CRD (eventpolicies.eventing.knative.dev) is not installed"
                in condition(status_yaml(kubectl, namespace), "EventPoliciesReady").get(
                    "message", ""
                )
            ),
            what="EventPoliciesReady to say the CRD is missing",
            timeout=TIMEOUT,
        )

        install_event_policy_crd(control_plane)
        apply_policy(kubectl, namespace, "allow-sender")
        wait_for(
            lambda: running.post(SENDER).status_code == 202,
            what="the receiver to pick up the CRD and the policy",
            timeout=TIMEOUT,
        )
        states.append(running.policies.state)
        assert states == ["absent", "ready"]


def test_the_crd_is_accepted_with_knatives_status(
    control_plane: ControlPlane, kubectl: Callable[..., Any], namespace: str, tmp_path: Path
) -> None:
    """Our CRD stores what Knative's controller writes, and refuses a from entry that is neither
    sub nor ref."""
    install_event_policy_crd(control_plane)
    apply_policy(kubectl, namespace, "p")
    status = {
        "observedGeneration": 1,
        "from": [SENDER],
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        ],
    }
    kubectl(
        "patch", "eventpolicies.eventing.knative.dev", "p", "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": status}),
    )  # fmt: skip
    shown = kubectl("get", "eventpolicies.eventing.knative.dev", "p", "-n", namespace, "-o", "json")
    assert json.loads(shown.stdout)["status"]["from"] == [SENDER]
    bad = {
        "apiVersion": "eventing.knative.dev/v1alpha1",
        "kind": "EventPolicy",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"from": [{"sub": SENDER, "ref": {"kind": "PingSource", "name": "x"}}]},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    refused = kubectl("apply", "-f", str(path), check=False)
    assert refused.returncode != 0
    assert "each entry of spec.from needs exactly one of ref and sub" in refused.stderr


@pytest.mark.usefixtures("event_policy_crd")
def test_real_tokens_meet_the_policy(
    kubectl: Callable[..., Any], api_client: client.ApiClient, namespace: str
) -> None:
    """TokenRequest tokens verified by the real authenticator: the policy's subject gets 202, a
    service account of the same namespace that the policy does not name gets 403 (the policy
    applies, so the default mode does not), no token 401."""
    for account in ("sender", "bystander"):
        kubectl("create", "serviceaccount", account, "-n", namespace)
    apply_sink(kubectl, namespace)
    admitted = f"system:serviceaccount:{namespace}:sender"
    apply_policy(kubectl, namespace, "allow-sender", subs=(admitted,))
    verifier = token_authenticator(AuthenticationSettings(enabled=True), api_client, 1)
    with running_receiver(api_client, namespace, verifier) as running:
        wait_for_policies(running, "allow-sender")
        wait_for(
            lambda: bool((status_yaml(kubectl, namespace).get("address") or {}).get("audience")),
            what="the audience in the JobSink's status",
            timeout=TIMEOUT,
        )
        audience = audience_of(namespace, SINK)

        def post(account: str | None) -> httpx.Response:
            headers = {
                "ce-specversion": "1.0",
                "ce-id": uuid.uuid4().hex,
                "ce-source": "/e2e/tokens",
                "ce-type": "com.example.order.created",
            }
            if account is not None:
                token = request_token(api_client, namespace, account, audience)
                headers["authorization"] = f"Bearer {token}"
            url = f"{running.url}/{namespace}/{SINK}"
            return httpx.post(url, content=b"{}", headers=headers, timeout=TIMEOUT)

        assert post("sender").status_code == 202
        refused = refusal(post("bystander"))
        assert refused["reason"] == "no_policy_admits"
        assert f"system:serviceaccount:{namespace}:bystander" in refused["error"]
        assert post(None).status_code == 401
