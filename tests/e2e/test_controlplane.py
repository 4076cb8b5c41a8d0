"""The local control plane itself: version, clients, controllers, teardown, stale recovery."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from controlplane import K8S_VERSION, ControlPlane, ControlPlaneError, Ports
from controlplane.ports import is_listening
from controlplane.processes import is_same_process
from controlplane.readiness import wait_for
from controlplane.state import RunRegistry
from tests.e2e.support import REPO

TIMEOUT = 60.0
CORE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")


def _get_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def _gone(plane: ControlPlane, *args: str) -> Callable[[], bool]:
    """A condition: ``kubectl get ARGS`` finds nothing any more."""
    return lambda: plane.kubectl("get", *args, "--ignore-not-found", "-o", "name").stdout == ""


def test_version_is_the_pinned_release(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().git_version == K8S_VERSION


def test_kubectl_is_admin_through_client_certificate(control_plane: ControlPlane) -> None:
    versions = json.loads(control_plane.kubectl("version", "-o", "json").stdout)
    assert versions["clientVersion"]["gitVersion"] == K8S_VERSION
    assert versions["serverVersion"]["gitVersion"] == K8S_VERSION
    whoami = json.loads(control_plane.kubectl("auth", "whoami", "-o", "json").stdout)
    assert "system:masters" in whoami["status"]["userInfo"]["groups"]
    assert control_plane.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"


def test_admission_webhook_plugins_are_enabled(control_plane: ControlPlane) -> None:
    """The apiserver serves the plugins' metrics only when they are on."""
    metrics = control_plane.kubectl("get", "--raw", "/metrics").stdout
    for plugin in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ServiceAccount"):
        assert f'name="{plugin}"' in metrics, plugin


JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "hello"},
    "spec": {
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
            }
        }
    },
}


def test_job_controller_creates_a_pending_pod(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(JOB))
    selector = "batch.kubernetes.io/job-name=hello"
    wait_for(
        lambda: (
            len(_get_json(control_plane, "pods", "-n", namespace, "-l", selector)["items"]) == 1
        ),
        what="the job controller's Pod",
        timeout=TIMEOUT,
    )
    pod = _get_json(control_plane, "pods", "-n", namespace, "-l", selector)["items"][0]
    # No scheduler, no kubelet: the Pod exists and stays Pending on no node.
    assert pod["status"]["phase"] == "Pending"
    assert "nodeName" not in pod["spec"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    # The ServiceAccount admission plugin ran: the default account and its token volume.
    assert pod["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])


def test_deleting_a_job_collects_its_pods(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(JOB))
    selector = "batch.kubernetes.io/job-name=hello"
    wait_for(
        lambda: bool(_get_json(control_plane, "pods", "-n", namespace, "-l", selector)["items"]),
        what="the job controller's Pod",
        timeout=TIMEOUT,
    )
    control_plane.kubectl("delete", "job", "hello", "-n", namespace, "--wait=false")
    wait_for(
        _gone(control_plane, "pods", "-n", namespace, "-l", selector),
        what="the garbage collector to delete the Pod",
        timeout=TIMEOUT,
    )


def test_a_job_finishes_when_its_pod_is_marked_succeeded_and_ttl_deletes_it(
    control_plane: ControlPlane, namespace: str
) -> None:
    """Without a kubelet, a test plays its part by writing the Pod's status itself."""
    job = {**JOB, "spec": {**JOB["spec"], "ttlSecondsAfterFinished": 0}}
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(job))
    selector = "batch.kubernetes.io/job-name=hello"
    wait_for(
        lambda: bool(_get_json(control_plane, "pods", "-n", namespace, "-l", selector)["items"]),
        what="the job controller's Pod",
        timeout=TIMEOUT,
    )
    pod = _get_json(control_plane, "pods", "-n", namespace, "-l", selector)["items"][0]
    succeeded = json.dumps({"status": {"phase": "Succeeded"}})
    control_plane.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", namespace,
        "--subresource=status", "--type=merge", "-p", succeeded,
    )  # fmt: skip
    wait_for(
        _gone(control_plane, "job", "hello", "-n", namespace),
        what="the ttl-after-finished controller to delete the completed Job",
        timeout=TIMEOUT,
    )


def test_garbage_collector_deletes_dependents(control_plane: ControlPlane, namespace: str) -> None:
    owner = json.loads(
        control_plane.kubectl("create", "configmap", "owner", "-n", namespace, "-o", "json").stdout
    )
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(dependent))
    control_plane.kubectl("delete", "configmap", "owner", "-n", namespace)
    wait_for(
        _gone(control_plane, "configmap", "dependent", "-n", namespace),
        what="the garbage collector to delete the dependent",
        timeout=TIMEOUT,
    )


def test_namespace_deletion_completes(control_plane: ControlPlane) -> None:
    control_plane.kubectl("create", "namespace", "e2e-doomed")
    control_plane.kubectl("create", "configmap", "content", "-n", "e2e-doomed")
    control_plane.kubectl("delete", "namespace", "e2e-doomed", "--timeout=60s")
    assert _gone(control_plane, "namespace", "e2e-doomed")()


def test_reclaiming_never_touches_a_live_run(control_plane: ControlPlane) -> None:
    """Other runs' records (this session's, another terminal's) survive a reclaim."""
    core = [p for p in control_plane.processes if p.name in CORE_COMPONENTS]
    RunRegistry().reclaim_stale()
    assert len(core) == 3
    assert all(p.running for p in core)
    assert control_plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_teardown_leaves_no_process_port_or_file(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    registry = RunRegistry(tmp_path / "runs")
    plane = ControlPlane(binaries=control_plane.binaries, registry=registry)
    with plane:
        processes = [(p.pid, p.marker) for p in plane.processes]
        ports = plane.ports.all()
        workdir = plane.workdir
        assert len(processes) == 3
        assert list(registry.directory.glob("*.json"))
    assert not any(is_same_process(pid, marker) for pid, marker in processes)
    assert not any(is_listening(port) for port in ports)
    assert not workdir.exists()
    assert not list(registry.directory.glob("*.json"))


def test_a_killed_run_is_reclaimed_by_the_next(control_plane: ControlPlane, tmp_path: Path) -> None:
    """SIGKILL the owner of a control plane; the next start ends what it left behind."""
    environment = {**os.environ, "JOBSINK_STATE_DIR": str(tmp_path / "runs")}
    owner = subprocess.Popen(
        [sys.executable, "-m", "controlplane"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert owner.stdout is not None
        kubeconfig_line = owner.stdout.readline()
        assert kubeconfig_line.startswith("export KUBECONFIG="), kubeconfig_line
        stale_workdir = Path(kubeconfig_line.strip().split("=", 1)[1]).parent
        (record_path,) = (tmp_path / "runs").glob("*.json")
        leftovers = [
            (p["pid"], p["marker"]) for p in json.loads(record_path.read_text())["processes"]
        ]
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert len(leftovers) == 3
    assert all(is_same_process(pid, marker) for pid, marker in leftovers)  # orphans run on

    messages: list[str] = []
    plane = ControlPlane(binaries=control_plane.binaries, registry=RunRegistry(tmp_path / "runs"))
    with plane.start(progress=messages.append):
        assert any(m.startswith("reclaimed stale run") for m in messages), messages
        assert not any(is_same_process(pid, marker) for pid, marker in leftovers)
        assert not stale_workdir.exists()
        assert plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield squatter.getsockname()[1]


def test_start_retries_with_new_ports_when_one_is_taken(
    control_plane: ControlPlane,
    tmp_path: Path,
    taken_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Free ports can be grabbed between our check and etcd's bind: start-up tries again."""
    pick = Ports.free
    picked: list[Ports] = []

    def first_one_taken(cls: type[Ports], *, apiserver: int | None = None) -> Ports:
        ports = pick(apiserver=apiserver)
        picked.append(dataclasses.replace(ports, etcd_client=taken_port) if not picked else ports)
        return picked[-1]

    monkeypatch.setattr(Ports, "free", classmethod(first_one_taken))
    messages: list[str] = []
    plane = ControlPlane(binaries=control_plane.binaries, registry=RunRegistry(tmp_path / "runs"))
    with plane.start(progress=messages.append):
        assert "etcd: port taken by another process, retrying" in messages
        assert plane.ports == picked[1]
        assert plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_a_fixed_port_that_is_taken_fails_cleanly(
    control_plane: ControlPlane, tmp_path: Path, taken_port: int
) -> None:
    registry = RunRegistry(tmp_path / "runs")
    plane = ControlPlane(
        binaries=control_plane.binaries,
        registry=registry,
        ports=Ports.free(apiserver=taken_port),
    )
    with pytest.raises(ControlPlaneError, match="kube-apiserver exited") as raised:
        plane.start()
    message = str(raised.value)
    assert "address already in use" in message
    log = Path(message.split("(log: ", 1)[1].split(")", 1)[0])
    workdir = log.parent.parent
    assert not workdir.exists()
    assert not list(registry.directory.glob("*.json"))
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, check=False)
    assert leftovers.stdout == b""


def test_python_m_controlplane_stops_cleanly_on_sigterm(control_plane: ControlPlane) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-m", "controlplane"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert runner.stdout is not None
    kubeconfig = Path(runner.stdout.readline().strip().removeprefix("export KUBECONFIG="))
    assert kubeconfig.exists()
    workdir = kubeconfig.parent
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) == 0
    assert not workdir.exists()
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, check=False)
    assert leftovers.stdout == b""


def test_python_m_controlplane_reports_a_failed_start_in_one_message(taken_port: int) -> None:
    runner = subprocess.run(
        [sys.executable, "-m", "controlplane", "--port", str(taken_port)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert runner.returncode == 1
    assert runner.stdout == ""
    assert "error: kube-apiserver exited" in runner.stderr
    assert "address already in use" in runner.stderr
    assert "Traceback" not in runner.stderr
