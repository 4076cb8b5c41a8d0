"""``jobsink dev --in-cluster``: the README's install on the local node, for a user to try.

The project image is built from the ``Dockerfile`` (BuildKit, cached) and published on the
node; the bundle is rendered for it and applied as ``kubectl apply -f`` would; both
Deployments are awaited; the documentation's logger is applied. What runs is then the same as
on a real cluster: the webhook and the receiver are Pods behind their Services.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from cli.manifests import bundle
from controlplane import ControlPlane, ControlPlaneError
from controlplane.image import ensure_project_image
from controlplane.readiness import wait_for

SYSTEM_NAMESPACE = "knative-eventing"
DEPLOYMENTS = ("jobsink-webhook", "job-sink")
LOGGER = "job-sink-logger"
LOGGER_URL = f"http://job-sink.{SYSTEM_NAMESPACE}.svc.cluster.local/default/{LOGGER}"
ROLLOUT_TIMEOUT = 300
#: The documentation's trigger, as the README shows it.
TRIGGER = (
    "kubectl run curl --image=curlimages/curl --rm=true --restart=Never -ti -- -X POST -v \\\n"
    + f"""   -H "content-type: application/json"  \\
   -H "ce-specversion: 1.0" \\
   -H "ce-source: my/curl/command" \\
   -H "ce-type: my.demo.event" \\
   -H "ce-id: 123" \\
   -d '{{"details":"JobSinkDemo"}}' \\
   {LOGGER_URL}"""
)


@dataclass(frozen=True)
class InCluster:
    plane: ControlPlane
    image: str
    bundle_file: Path
    #: From ``kubectl apply`` of the bundle to both Deployments rolled out.
    rollout_seconds: float


def _logger_ready(plane: ControlPlane) -> bool:
    got = plane.kubectl("get", "jobsink", LOGGER, "-n", "default", "-o", "yaml", check=False)
    if got.returncode != 0:
        return False
    status = (yaml.safe_load(got.stdout) or {}).get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    url = (status.get("address") or {}).get("url")
    return bool(ready) and ready[0].get("status") == "True" and url == LOGGER_URL


def install(
    root: Path, workdir: Path, *, say: Callable[[str], None], step: Callable[[str], None]
) -> InCluster:
    """Start the plane with its node, build and publish the image, apply the bundle and the
    logger. The caller stops ``plane`` (which removes everything with it)."""
    if not (root / "Dockerfile").is_file():
        raise ControlPlaneError(f"--in-cluster builds the image from a source checkout; "
                                f"{root} has no Dockerfile")  # fmt: skip
    plane = ControlPlane(workdir=workdir, node=True)
    try:
        step("control plane and node (with Services, cluster DNS and the loopback registry)")
        plane.start(progress=say)
        node = plane.node
        assert node is not None
        if not node.services:
            raise ControlPlaneError(
                "the node does not route Services (another local node holds the Service"
                " network): the in-cluster install needs them"
            )
        step("the project image, from the Dockerfile with BuildKit (cached)")
        build = ensure_project_image(say, root=root, import_into=[])
        node.publish_image(build.archive, build.reference)
        step(f"the bundle for {build.reference}, applied; both Deployments rolled out")
        bundle_file = workdir / "jobsink.yaml"
        bundle_file.write_text(yaml.safe_dump_all(bundle(root, image=build.reference)))
        applied = time.monotonic()
        plane.kubectl("apply", "-f", str(bundle_file), timeout=120)
        for deployment in DEPLOYMENTS:
            plane.kubectl("-n", SYSTEM_NAMESPACE, "rollout", "status",
                          f"deployment/{deployment}", f"--timeout={ROLLOUT_TIMEOUT}s",
                          timeout=ROLLOUT_TIMEOUT + 30)  # fmt: skip
        rollout_seconds = time.monotonic() - applied
        say(f"both Deployments available {rollout_seconds:.1f}s after the apply")
        step(f"the documentation's {LOGGER}")
        # The apiserver reaches the webhook once kube-proxy routes its Service, a moment after
        # the rollout: until then an apply is refused ("connection refused") and is retried.
        logger = str(root / "examples" / f"{LOGGER}.yaml")
        wait_for(lambda: plane.kubectl("apply", "-f", logger, check=False).returncode == 0,
                 what=f"{LOGGER} applied (the webhook answering through its Service)",
                 timeout=120)  # fmt: skip
        wait_for(lambda: _logger_ready(plane), what=f"{LOGGER} READY at {LOGGER_URL}",
                 timeout=120)  # fmt: skip
    except BaseException:
        plane.stop()
        raise
    return InCluster(plane, build.reference, bundle_file, rollout_seconds)


def summary(running: InCluster, kubectl: str) -> str:
    kubeconfig = running.plane.kubeconfig
    return f"""
JobSink for Python is installed in the local cluster ({running.image}). Ctrl-C stops everything.

  kube-apiserver  {running.plane.server}
  bundle          {running.bundle_file}
  logs            {running.plane.layout.logs}

Try, in another terminal:
  export KUBECONFIG={kubeconfig} PATH={Path(kubectl).parent}:$PATH
  kubectl get jobsinks.sinks.knative.dev
  {TRIGGER}
  kubectl wait --for=condition=complete job -l sinks.knative.dev/job-sink-name={LOGGER}
  kubectl logs job/<the Job that kubectl wait named>
"""
