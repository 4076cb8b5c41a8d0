"""Kueue's controller manager as a host process of a local control plane.

    kueue = start_kueue(plane, say)   # CRDs, RBAC, the manager, its webhooks; waited until used
    ...
    kueue.stop()                      # webhooks unregistered, the manager stopped

The manager runs with its own identity: a client certificate for ``kueue-controller-manager``,
bound to the module's manager ClusterRole and its Role on Secrets (not cluster-admin), so a
permission Kueue lacks in a real cluster is missing here too. Its webhooks are registered with
a loopback ``url`` and our CA.

One detail of the manager forces a wrapper: with its certificate management off, it reads its
metrics serving certificate from the fixed path ``/etc/kueue/metrics/certs``. The manager is
therefore started in a private mount namespace whose ``/etc`` is an overlay of the host's with
that one directory added; the host's ``/etc`` is never written, and the overlay ends with the
process. This needs root, like the local node.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from certs.authority import CertificateAuthority
from controlplane.errors import ControlPlaneError
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.kueue.binaries import (
    KUEUE_VERSION,
    KueueFiles,
    Progress,
    ensure_kueue,
    kueue_buildable,
)
from controlplane.kueue.manifests import (
    KUEUE_NAMESPACE,
    KUEUE_USER,
    KueuePorts,
    cluster_role,
    configuration,
    namespaced_role,
    probe_job,
    role_binding,
    webhook_configurations,
)
from controlplane.pki import PkiFiles
from controlplane.ports import LOOPBACK, free_ports
from controlplane.processes import ManagedProcess
from controlplane.readiness import http_ok, wait_for

START_TIMEOUT = 120.0
METRICS_CERT_DIR = "kueue/metrics/certs"  # under /etc, where the manager looks

#: Run as ``sh -c SCRIPT kueue-etc CERTS SCRATCH MANAGER ARGS...`` inside ``unshare --mount``.
#: The overlay's upper layer lives on a tmpfs of the private namespace: nothing reaches the host.
ETC_OVERLAY_SCRIPT = f"""set -eu
certs=$1 scratch=$2; shift 2
mount -t tmpfs -o mode=0700 kueue-etc "$scratch"
mkdir -p "$scratch/upper/{METRICS_CERT_DIR}" "$scratch/work"
cp "$certs/tls.crt" "$certs/tls.key" "$scratch/upper/{METRICS_CERT_DIR}/"
mount -t overlay kueue-etc -o "lowerdir=/etc,upperdir=$scratch/upper,workdir=$scratch/work" /etc
exec "$@"
"""


class Plane(Protocol):
    """What Kueue needs of a started ``controlplane.ControlPlane``."""

    @property
    def workdir(self) -> Path: ...

    @property
    def server(self) -> str: ...

    @property
    def pki(self) -> PkiFiles: ...

    @property
    def authority(self) -> CertificateAuthority: ...

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> Any: ...

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess: ...


def kueue_unavailable_reason() -> str | None:
    """Why Kueue cannot run here, or None."""
    if sys.platform != "linux":
        return f"Kueue's manager runs in a private mount namespace: Linux only (not {sys.platform})"
    if os.geteuid() != 0:
        return "Kueue's manager runs in a private mount namespace, which needs root"
    return kueue_buildable()


@dataclass
class RunningKueue:
    """Kueue's manager serving its webhooks on ``https://127.0.0.1:<ports.webhook>``."""

    plane: Plane
    process: ManagedProcess
    ports: KueuePorts
    files: KueueFiles
    configurations: list[dict[str, Any]] = field(default_factory=list)
    version: str = KUEUE_VERSION

    @property
    def webhook_url(self) -> str:
        return f"https://{LOOPBACK}:{self.ports.webhook}"

    def stop(self) -> None:
        """Unregister the webhooks first: with ``failurePolicy: Fail`` and no manager, every
        Job create would be refused."""
        for document in self.configurations:
            self.plane.kubectl(
                "delete", document["kind"], document["metadata"]["name"], "--ignore-not-found",
                check=False,
            )  # fmt: skip
        self.process.stop()


def start_kueue(plane: Plane, say: Progress) -> RunningKueue:
    """Install Kueue's CRDs and RBAC, start its manager, register its webhooks, and wait until
    the apiserver calls them."""
    files = ensure_kueue(say)
    directory = plane.workdir / "kueue"
    directory.mkdir(exist_ok=True)
    tls = _write_identity(plane, directory)
    ports = KueuePorts(*free_ports(3))
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(configuration(ports, LOOPBACK, str(tls))))

    _install_crds(plane, files)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KUEUE_NAMESPACE}}
    roles = [
        cluster_role(yaml.safe_load(files.cluster_role.read_text())),
        namespaced_role(yaml.safe_load(files.secrets_role.read_text())),
    ]
    bindings = [role_binding(role) for role in roles]
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([namespace, *roles, *bindings]))

    scratch = directory / "etc-overlay"
    scratch.mkdir(exist_ok=True)
    argv = [
        "unshare", "--mount", "--propagation", "private", "--",
        "sh", "-c", ETC_OVERLAY_SCRIPT, "kueue-etc", str(tls), str(scratch),
        str(files.manager), f"--config={config_path}",
    ]  # fmt: skip
    process = plane.spawn("kueue", argv, env={"KUBECONFIG": str(directory / "kubeconfig")})
    running = RunningKueue(plane, process, ports, files)
    try:
        wait_for(
            lambda: http_ok(f"http://{LOOPBACK}:{ports.health}/readyz"),
            what="Kueue's manager /readyz",
            timeout=START_TIMEOUT,
            watched=[process],
        )
        documents = webhook_configurations(
            yaml.safe_load_all(files.webhooks.read_text()),
            running.webhook_url,
            plane.authority.cert_pem,
        )
        plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
        running.configurations = documents
        wait_for(
            lambda: _job_webhook_active(plane),
            what="the apiserver to call Kueue's Job webhook",
            timeout=START_TIMEOUT,
            watched=[process],
        )
    except BaseException:
        running.stop()
        raise
    say(f"Kueue {KUEUE_VERSION} ready (webhooks at {running.webhook_url})")
    return running


def _write_identity(plane: Plane, directory: Path) -> Path:
    """Kueue's serving certificate (webhooks and metrics) and its kubeconfig; returns the
    certificate directory."""
    tls = directory / "certs"
    tls.mkdir(exist_ok=True)
    serving = plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls / "tls.crt").write_bytes(serving.cert_pem)
    _write_private(tls / "tls.key", serving.key_pem)
    client = plane.authority.issue_client(KUEUE_USER)
    _write_private(directory / "client.key", client.key_pem)
    (directory / "client.crt").write_bytes(client.cert_pem)
    document = kubeconfig_document(
        server=plane.server,
        ca_cert=plane.pki.ca_cert,
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        name="kueue",
    )
    write_kubeconfig(directory / "kubeconfig", document)
    return tls


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)


def _install_crds(plane: Plane, files: KueueFiles) -> None:
    # Server-side: some of Kueue's CRDs are larger than the annotation client-side apply keeps.
    plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(files.crds))
    plane.kubectl(
        "wait", "--for=condition=Established", f"--timeout={START_TIMEOUT:.0f}s",
        "-f", str(files.crds),
    )  # fmt: skip


def _job_webhook_active(plane: Plane) -> bool:
    """A server-side dry run of a queued Job comes back suspended only through Kueue's webhook."""
    result = plane.kubectl(
        "create", "--dry-run=server", "-n", "default", "-o", "json", "-f", "-",
        input=yaml.safe_dump(probe_job("kueue-probe")), check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return False
    try:
        return bool(yaml.safe_load(result.stdout)["spec"].get("suspend"))
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise ControlPlaneError(f"unexpected dry-run answer: {result.stdout!r}") from error
