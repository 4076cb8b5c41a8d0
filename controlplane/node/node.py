"""``LocalNode``: containerd, the kubelet and kube-scheduler joined to a local control plane,
with kube-proxy, the cluster DNS and a loopback registry when it routes Services.

Before the control plane starts: :meth:`LocalNode.open_network` takes the machine's Service
network (see ``firewall``) and creates the bridge with its gateway, so the apiserver can
advertise it; :meth:`LocalNode.fence` adds the run's packet-filter rules for the apiserver's
port. Then :meth:`LocalNode.start`: binaries and images (cached); certificates and
configuration files; the run's cgroup; the registry, kube-scheduler and containerd; images
imported into containerd and pushed to the registry; the kubelet and kube-proxy; the Node Ready
and schedulable; the cluster DNS available. Every wait has a deadline and fails at once, with
the log tail, if a component exits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from certs.authority import CertificateAuthority
from controlplane.errors import ControlPlaneError
from controlplane.node import firewall, host
from controlplane.node.addresses import DNS_SERVICE_IP, SERVICE_RANGE
from controlplane.node.api_reader import ApiReader
from controlplane.node.binaries import NodeBinaries
from controlplane.node.coredns import COREDNS_IMAGE
from controlplane.node.coredns import NAME as COREDNS
from controlplane.node.coredns import NAMESPACE as COREDNS_NAMESPACE
from controlplane.node.ctr import ctr_answers
from controlplane.node.files import NodeInputs, write_node_files
from controlplane.node.images import (
    STAND_IN_NOTE,
    WORKLOAD_IMAGES,
    Image,
    coredns_image,
    ensure_archive,
    pause_image,
)
from controlplane.node.kube_proxy import kube_proxy_args
from controlplane.node.kubelet_config import (
    NODE_NAME,
    kubelet_args,
)
from controlplane.node.layout import NodeLayout
from controlplane.node.network import (
    POD_CIDR_ENV,
    bridge_name,
    choose_pod_range,
    host_routes,
    network_name,
)
from controlplane.node.publish import import_image, publish, push_image
from controlplane.node.registry import (
    REGISTRY_ENV,
    RegistrySettings,
    registry_args,
)
from controlplane.node.service_network import ServiceNetwork, services_wanted
from controlplane.node.services import apply_addons
from controlplane.node.teardown import NodeRecord
from controlplane.pki import PkiFiles
from controlplane.ports import LOOPBACK
from controlplane.processes import ManagedProcess
from controlplane.readiness import HttpsProbe, http_ok, wait_for

Progress = Callable[[str], None]
Spawn = Callable[[str, list[str], Mapping[str, str]], ManagedProcess]
CGROUP_PREFIX = "/jobsink-"


class LocalNode:
    """One node for one control plane run. ``record`` is known before anything is created.

    ``services``: route Services (kube-proxy, the cluster DNS, Pods reaching the apiserver):
    True insists, None does whenever no other run on this machine routes them, False never;
    None defers to ``JOBSINK_NODE_SERVICES`` (``0``, ``1``) when it is set.
    """

    def __init__(
        self,
        workdir: Path,
        run_id: str,
        pod_range: str | None = None,
        services: bool | None = None,
    ) -> None:
        self.run_id = run_id
        self.layout = NodeLayout(workdir, run_id)
        self.pod_range = choose_pod_range(
            host_routes(host.ip_routes()), pod_range or os.environ.get(POD_CIDR_ENV)
        )
        self.record = NodeRecord(
            root=str(self.layout.root),
            runtime_dir=str(self.layout.runtime_dir),
            cgroup=f"{CGROUP_PREFIX}{run_id}",
            bridge=bridge_name(run_id),
            network=network_name(run_id),
        )
        self.name = NODE_NAME
        self.kubelet_port = 0
        self.scheduler_port = 0
        self.ready_seconds: float | None = None
        self.network = ServiceNetwork(
            run_id, self.record, self.pod_range, services_wanted(services, os.environ)
        )
        self.registry: RegistrySettings | None = None
        self._binaries: NodeBinaries | None = None

    # -- before the control plane --------------------------------------------------------

    @property
    def services(self) -> bool:
        """Whether this node routes Services (decided by :meth:`open_network`)."""
        return self.network.held

    @property
    def service_lock(self) -> firewall.ServiceNetworkLock:
        return self.network.lock

    @property
    def pod_address(self) -> str | None:
        """Where Pods reach the apiserver: the gateway, when this node routes Services."""
        return self.network.pod_address

    def open_network(self, say: Progress) -> None:
        """Before the apiserver: take the machine's Service network if wanted and free."""
        self.network.open(f"the node of {self.layout.workdir}", say)

    def fence(self, apiserver_port: int) -> None:
        """The run's packet-filter rules for the apiserver's port (see ``firewall``)."""
        self.network.fence(apiserver_port)

    def start(
        self,
        *,
        binaries: NodeBinaries,
        authority: CertificateAuthority,
        pki: PkiFiles,
        server: str,
        spawn: Spawn,
        say: Progress,
        timeout: float,
        kubectl: Path,
        extra_images: Sequence[tuple[Path, str]] = (),
    ) -> None:
        """``extra_images``: (OCI archive, reference) pairs published as by
        :meth:`publish_image` before the kubelet starts."""
        began = time.monotonic()
        deadline = began + timeout
        self._binaries = binaries

        def remaining() -> float:
            return max(1.0, deadline - time.monotonic())

        images: list[Image] = [pause_image(binaries.pause), *WORKLOAD_IMAGES]
        if self.services:
            images.append(coredns_image(binaries.coredns))
        archives = [ensure_archive(image, say) for image in images]
        ports = write_node_files(
            self.layout,
            self.record,
            NodeInputs(binaries, authority, pki, server, self.name, self.pod_range, self.services),
        )
        self.kubelet_port, self.scheduler_port = ports.kubelet, ports.scheduler
        self.registry = ports.registry
        host.create_cgroup(self.record.cgroup)

        assert self.registry is not None
        registry = spawn(
            "registry",
            registry_args(binaries.registry, self.layout.registry_config),
            REGISTRY_ENV,
        )
        scheduler = spawn("kube-scheduler", self._scheduler_args(binaries, pki), {})
        everything = [registry, scheduler]
        if self.services:
            say(f"starting kube-proxy (Services {SERVICE_RANGE}, DNS {DNS_SERVICE_IP})")
            proxy_argv = kube_proxy_args(binaries.kube_proxy, self.layout.kube_proxy_config)
            everything.append(spawn("kube-proxy", proxy_argv, {}))
        say("starting containerd")
        path = os.pathsep.join(
            [str(binaries.containerd.parent), str(binaries.runc.parent), os.environ["PATH"]]
        )
        containerd = spawn(
            "containerd",
            [str(binaries.containerd), f"--config={self.layout.containerd_config}"],
            {"PATH": path},
        )
        everything.append(containerd)
        socket, registry_settings = self.layout.containerd_socket, self.registry
        wait_for(
            lambda: ctr_answers(binaries.ctr, socket, "version"),
            what="containerd to answer on its socket",
            timeout=min(60.0, remaining()),
            watched=everything,
        )
        wait_for(
            lambda: http_ok(f"{registry_settings.url}/v2/"),
            what="the registry /v2/",
            timeout=min(60.0, remaining()),
            watched=everything,
        )
        published = [
            *zip(archives, (image.reference for image in images), strict=True),
            *extra_images,
        ]
        references = ", ".join(reference for _, reference in published)
        say(f"importing {references} into containerd and the node's registry; {STAND_IN_NOTE}")

        # The sandbox image first, then the kubelet: it registers the Node while the rest is
        # imported one after the other (in parallel they only contend for the disk), the
        # cluster DNS's first, and pushed behind. Start-up ends once all of it is done, so
        # no Pod of the caller's can miss an image.
        pause, rest = published[0], published[1:]
        rest.sort(key=lambda pair: pair[1] != COREDNS_IMAGE)
        import_image(binaries.ctr, socket, *pause)
        importer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import")
        others = ThreadPoolExecutor(max_workers=2, thread_name_prefix="push")
        background: list[Future[object]] = [
            others.submit(push_image, binaries.ctr, socket, pause[1], registry_settings)
        ]

        def import_then_push(archive: Path, reference: str) -> None:
            import_image(binaries.ctr, socket, archive, reference)
            # Queued before this import's future resolves, so the final join sees it.
            background.append(
                others.submit(push_image, binaries.ctr, socket, reference, registry_settings)
            )
            if reference == COREDNS_IMAGE:
                # Only now: a cluster DNS Pod bound before its image is here would pull it
                # from the registry, where it may not be yet, and back off for seconds.
                background.append(
                    others.submit(apply_addons, kubectl, server, pki, self.layout.addons)
                )

        background += [importer.submit(import_then_push, *pair) for pair in rest]

        probe = HttpsProbe(pki.ca_cert)
        api = ApiReader(server, pki)
        try:
            say(f"starting kubelet (node {self.name}, Pod range {self.pod_range})")
            everything.append(
                spawn(
                    "kubelet",
                    kubelet_args(
                        binaries.kubelet,
                        config=self.layout.kubelet_config,
                        kubeconfig=self.layout.kubelet_kubeconfig,
                        root_dir=self.layout.kubelet_root,
                        cert_dir=self.layout.kubelet_cert_dir,
                    ),
                    {"PATH": path},
                )
            )
            while background:  # grows while imports finish and queue their pushes
                background.pop(0).result(timeout=remaining())
            wait_for(
                lambda: probe.ok(f"https://{LOOPBACK}:{self.scheduler_port}/healthz"),
                what="kube-scheduler /healthz",
                timeout=remaining(),
                watched=everything,
            )
            wait_for(
                lambda: api.node_schedulable(self.name),
                what=f"Node {self.name} to be Ready and schedulable",
                timeout=remaining(),
                watched=everything,
            )
            if self.services:
                wait_for(
                    lambda: api.deployment_available(COREDNS_NAMESPACE, COREDNS),
                    what="the cluster DNS (Deployment kube-system/coredns) to be available",
                    timeout=remaining(),
                    watched=everything,
                )
        finally:
            # Nothing is left running on failure: queued work is dropped, running work ends
            # with its ctr process (or with containerd when the plane stops).
            importer.shutdown(wait=False, cancel_futures=True)
            others.shutdown(wait=False, cancel_futures=True)
            probe.close()
            api.close()
        self.ready_seconds = time.monotonic() - began
        say(f"node {self.name} ready in {self.ready_seconds:.1f}s")

    def publish_image(self, archive: Path, reference: str) -> str:
        """Import an OCI archive into containerd (so ``IfNotPresent`` finds it) and push it to
        the node's registry (so a pull finds it too, as for ``:latest``). Returns the
        registry path (``library/bash:5``). Works while the node runs, and for archives made
        anywhere: an archive naming one other image is tagged ``reference``."""
        binaries, registry = self._binaries, self.registry
        if binaries is None or registry is None:
            raise ControlPlaneError("the node is not started")
        return publish(binaries.ctr, self.layout.containerd_socket, archive, reference, registry)

    def _scheduler_args(self, binaries: NodeBinaries, pki: PkiFiles) -> list[str]:
        return [
            str(binaries.kube_scheduler),
            f"--kubeconfig={self.layout.scheduler_kubeconfig}",
            # A single instance: leader election would only delay the first binding.
            "--leader-elect=false",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={self.scheduler_port}",
            f"--cert-dir={self.layout.scheduler_cert_dir}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            "--profiling=false",
        ]
