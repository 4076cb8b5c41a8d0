"""The README's install section followed to the letter on the local node, in order: the
bundle applied and both Deployments available, the documentation's logger JobSink, its
``kubectl run curl ... -ti`` trigger on a real terminal, the Job's log, an invalid JobSink
refused through the webhook's Service, rolling restarts under load, and the uninstall.

The tests run in file order and share the installation; each states what it needs from the
previous ones.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from typing import Any

import pytest
import yaml

from controlplane.readiness import wait_for
from jobsink.names import LABEL_SINK_NAME
from tests.e2e.cluster.install import NAMESPACE, Installation, run
from tests.e2e.cluster.pods import count, finished_log, script_pod
from tests.e2e.cluster.readme import README, ROOT, trigger_command
from tests.e2e.cluster.tty import run_on_terminal
from tests.e2e.node.cluster_network import kubectl_run
from tests.e2e.node.runs import example, main_container
from tests.seed import SEED_BODY, SEED_EVENT, SEED_HEADERS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
LOGGER_URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"
WEBHOOK_SECRET = "jobsink-webhook-certs"
WEBHOOK_CONFIGURATIONS = (
    "mutatingwebhookconfiguration/defaulting.webhook.jobsink.knative.dev",
    "validatingwebhookconfiguration/validation.webhook.jobsink.knative.dev",
)
SENDER = (ROOT / "bench" / "cluster_sender.py").read_text()
EVENTS_UNDER_RESTART = 500
TRIGGER_ATTEMPTS = 3


def kubectl(installation: Installation, *args: str, timeout: float = 120) -> str:
    return run(["kubectl", *args], installation.env, timeout=timeout)


def get_json(installation: Installation, *args: str) -> Any:
    return json.loads(kubectl(installation, "get", *args, "-o", "json"))


def _completed_job(installation: Installation, namespace: str, sink: str) -> str:
    """``kubectl wait --for=condition=complete job -l ...`` as the README does; the Job's name."""
    waited = kubectl(installation, "wait", "--for=condition=complete", "job", "-n", namespace,
                     "-l", f"{LABEL_SINK_NAME}={sink}", "--timeout=180s", timeout=200)  # fmt: skip
    (job,) = re.findall(r"^job\.batch/(\S+) condition met$", waited, re.MULTILINE)
    return str(job)


def test_the_bundle_applies_and_both_deployments_become_available(
    installation: Installation,
) -> None:
    ran = [" ".join(argv) for argv, _ in installation.transcript]
    assert f"jobsink manifests --image {installation.image} --out dist/jobsink.yaml" in ran[0]
    outputs = "".join(output for _, output in installation.transcript)
    for deployment in ("jobsink-webhook", "job-sink"):
        assert f'deployment "{deployment}" successfully rolled out' in outputs
        status = get_json(installation, "deployment", deployment, "-n", NAMESPACE)["status"]
        assert status.get("availableReplicas") == 2, status
    print(f"apply to both Deployments available: {installation.apply_to_available_seconds:.1f}s,"
          f" the webhook routed {installation.webhook_routed_seconds:.1f}s later")  # fmt: skip


def test_the_webhook_made_its_certificate_and_patched_the_ca_bundles_itself(
    installation: Installation,
) -> None:
    secret = get_json(installation, "secret", WEBHOOK_SECRET, "-n", NAMESPACE)
    assert secret["data"], secret["metadata"]
    for configuration in WEBHOOK_CONFIGURATIONS:
        webhooks = get_json(installation, configuration)["webhooks"]
        for webhook in webhooks:
            bundle = base64.b64decode(webhook["clientConfig"]["caBundle"])
            assert bundle.startswith(b"-----BEGIN CERTIFICATE-----"), configuration
            assert webhook["clientConfig"]["service"]["namespace"] == NAMESPACE


def test_the_documentations_logger_is_ready_with_the_in_cluster_url(
    installation: Installation,
) -> None:
    kubectl(installation, "apply", "-f", "examples/job-sink-logger.yaml")

    def ready_row() -> bool:
        table = kubectl(installation, "get", "jobsinks.sinks.knative.dev")
        rows = [line.split() for line in table.splitlines()[1:]]
        return any(row[:2] == ["job-sink-logger", LOGGER_URL] and "True" in row for row in rows)

    wait_for(ready_row, what="job-sink-logger READY True with its in-cluster URL", timeout=60)


def test_the_documentations_kubectl_run_curl_on_a_terminal_gets_202(
    installation: Installation,
) -> None:
    command = trigger_command(README.read_text())
    assert " -ti -- -X POST -v " in command.replace("\\\n", " ")
    # A real terminal, so `-ti` is kept: the command is the documented text, run by a shell.
    # kubectl attaches to the container's terminal once it runs, and what a short-lived curl
    # wrote before that is not replayed ("If you don't see a command prompt ..."): when the
    # answer was missed, the same command is run again, which the receiver answers 202 again
    # without a second Job (the next test finds exactly one).
    outputs = []
    for _ in range(TRIGGER_ATTEMPTS):
        ran = run_on_terminal(["bash", "-c", command], env=installation.env, cwd=str(ROOT),
                              timeout=240)  # fmt: skip
        assert ran.returncode == 0, ran.output
        assert 'pod "curl" deleted' in ran.output, ran.output
        outputs.append(ran.output)
        if "< HTTP/1.1 202" in ran.output:
            break
    else:
        pytest.fail("curl's answer never reached the terminal:\n" + "\n---\n".join(outputs))
    print(f"kubectl run curl -ti: the 202 on the terminal after {len(outputs)} run(s)")


def test_kubectl_logs_of_the_job_prints_the_documentations_event(
    installation: Installation,
) -> None:
    job = _completed_job(installation, "default", "job-sink-logger")
    # The file has no trailing newline, and cat adds none: the line is the file, exactly.
    assert kubectl(installation, "logs", f"job/{job}") == SEED_EVENT.decode()


def _apply_ready(installation: Installation, sink: dict[str, Any]) -> None:
    installation.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(sink))
    namespace, name = sink["metadata"].get("namespace", "default"), sink["metadata"]["name"]

    def ready() -> bool:
        status = get_json(installation, "jobsink", name, "-n", namespace).get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return conditions.get("Ready") == "True"

    wait_for(ready, what=f"JobSink {namespace}/{name} ready", timeout=60)


def _reader_job_log(installation: Installation, name: str, image: str) -> str:
    """A logger whose container is ``image`` (a reader of the event file): the documentation's
    event sent to it from a Pod, its Job's log once complete."""
    sink = example("job-sink-logger.yaml")
    sink["metadata"]["name"] = name
    container = main_container(sink)
    container["image"] = image
    container.pop("command")
    container.pop("args")
    _apply_ready(installation, sink)
    url = f"http://job-sink.{NAMESPACE}.svc.cluster.local/default/{name}"
    headers = [arg for key, value in SEED_HEADERS.items() for arg in ("-H", f"{key}: {value}")]
    # -f: curl's exit code (which kubectl passes on) says whether the answer was a success;
    # its output may come before kubectl attaches, so it is not relied upon.
    sent = kubectl_run(installation.plane, "default", f"curl-{name}", "-sSf", "-o", "/dev/null",
                       *headers, "-d", SEED_BODY.decode(), url)  # fmt: skip
    assert sent.returncode == 0, sent
    job = _completed_job(installation, "default", name)
    return kubectl(installation, "logs", f"job/{job}")


def test_the_cloudevents_go_sdk_reads_the_file_the_receiver_wrote(
    installation: Installation, event_reader_image: str
) -> None:
    printed = _reader_job_log(installation, "go-sdk-reader", event_reader_image)
    # The SDK's own rendering first (fmt.Println(event)), then the event it parsed as JSON.
    assert printed.startswith("Context Attributes,\n  specversion: 1.0\n"), printed
    (line,) = [line for line in printed.splitlines() if line.startswith("JSON ")]
    assert json.loads(line.removeprefix("JSON ")) == json.loads(SEED_EVENT)


def test_the_cloudevents_python_sdk_reads_the_file_the_receiver_wrote(
    installation: Installation, python_reader_image: str
) -> None:
    printed = json.loads(_reader_job_log(installation, "python-sdk-reader", python_reader_image))
    sent = json.loads(SEED_EVENT)
    data = sent.pop("data")
    # The SDK's event type fills `time` with the moment it was read when the file has none.
    attributes = printed["attributes"]
    attributes.pop("time")
    assert attributes == sent
    assert printed["data"] == data


def test_an_invalid_jobsink_is_refused_by_the_webhook_through_its_service(
    installation: Installation,
) -> None:
    # A rule only the webhook knows (the CRD's schema allows the name): the event volume's
    # name is reserved. The apiserver reaches the webhook through its Service or not at all.
    result = subprocess.run(
        ["kubectl", "apply", "-f", "examples/invalid/event-volume-conflict.yaml"], cwd=ROOT,
        env=installation.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert 'The JobSink "job-sink-conflict" is invalid' in result.stderr, result.stderr
    assert "spec.job.spec.template.spec.volumes[1].name" in result.stderr, result.stderr
    assert "reserved for the event Secret" in result.stderr, result.stderr
    configuration = get_json(installation, WEBHOOK_CONFIGURATIONS[1])["webhooks"][0]
    assert configuration["clientConfig"]["service"]["name"] == "jobsink-webhook"
    assert "url" not in configuration["clientConfig"]


def _suspended_sink(installation: Installation, namespace: str, name: str) -> str:
    """A logger whose Jobs are created suspended: the receiver's work only, no Pods."""
    sink = example("job-sink-logger.yaml")
    sink["metadata"] = {"name": name, "namespace": namespace}
    sink["spec"]["job"]["spec"]["suspend"] = True
    kubectl(installation, "create", "namespace", namespace)
    _apply_ready(installation, sink)
    return f"http://job-sink.{NAMESPACE}.svc.cluster.local/{namespace}/{name}"


def test_a_receiver_rolling_restart_under_load_loses_and_doubles_nothing(
    installation: Installation,
) -> None:
    namespace, sink = "restart", "ingest"
    url = _suspended_sink(installation, namespace, sink)
    env = {"TARGET": url, "COUNT": str(EVENTS_UNDER_RESTART), "CONCURRENCY": "8", "RATE": "25"}
    script_pod(installation.plane, namespace, "sender", image=installation.image,
               script=SENDER, env=env)  # fmt: skip
    # Restart once the first events are in: the rest arrive while Pods come and go.
    wait_for(lambda: count(installation.plane, "jobs", namespace, sink) >= 25,
             what="the first events accepted", timeout=120)  # fmt: skip
    kubectl(installation, "-n", NAMESPACE, "rollout", "restart", "deployment/job-sink")
    kubectl(installation, "-n", NAMESPACE, "rollout", "status", "deployment/job-sink",
            "--timeout=180s", timeout=200)  # fmt: skip
    report = json.loads(finished_log(installation.plane, namespace, "sender", 300).splitlines()[-1])
    print(f"sender under the receiver's restart: {report}")
    assert report["tally"].get("final:202") == EVENTS_UNDER_RESTART, report
    assert count(installation.plane, "jobs", namespace, sink) == EVENTS_UNDER_RESTART
    assert count(installation.plane, "secrets", namespace, sink) == EVENTS_UNDER_RESTART


def test_a_webhook_rolling_restart_fails_no_apply_that_is_retried(
    installation: Installation,
) -> None:
    namespace = "webhook-restart"
    kubectl(installation, "create", "namespace", namespace)
    sink = example("job-sink-logger.yaml")
    kubectl(installation, "-n", NAMESPACE, "rollout", "restart", "deployment/jobsink-webhook")
    rollout = subprocess.Popen(
        ["kubectl", "-n", NAMESPACE, "rollout", "status", "deployment/jobsink-webhook",
         "--timeout=180s"], env=installation.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    applied, retried, failed = 0, 0, []
    try:
        for index in range(200):
            if rollout.poll() is not None and index >= 20:
                break
            sink["metadata"] = {"name": f"applied-{index}", "namespace": namespace}
            for attempt in range(5):
                result = installation.plane.kubectl(
                    "apply", "-f", "-", input=yaml.safe_dump(sink), check=False
                )
                if result.returncode == 0:
                    applied += 1
                    break
                retried += 1
                time.sleep(0.5 * 2**attempt)
            else:
                failed.append(result.stderr)
        assert rollout.wait(timeout=200) == 0
    finally:
        if rollout.poll() is None:
            rollout.kill()
    print(f"applies during the webhook's restart: {applied} applied, {retried} retried")
    assert not failed, failed
    assert applied >= 20


def test_deleting_the_bundle_leaves_no_jobsink_job_or_secret(installation: Installation) -> None:
    kubectl(installation, "delete", "-f", "dist/jobsink.yaml", "--timeout=180s", timeout=200)
    selector = ["-A", "-l", LABEL_SINK_NAME]

    def gone() -> bool:
        left = installation.plane.kubectl("get", "jobs,secrets", *selector, "-o", "name").stdout
        crds = installation.plane.kubectl("get", "crd", "-o", "name").stdout
        namespaces = installation.plane.kubectl("get", "namespaces", "-o", "name").stdout
        return not left.strip() and "jobsinks" not in crds and NAMESPACE not in namespaces

    wait_for(gone, what="no JobSink, Job, Secret or knative-eventing namespace left", timeout=180)
