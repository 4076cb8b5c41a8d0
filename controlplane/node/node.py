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

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import yaml

from certs.authority import CertificateAuthority
from controlplane.errors import ControlPlaneError
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.node import firewall, host
from controlplane.node.addresses import DNS_SERVICE_IP, SERVICE_RANGE, gateway, gateway_interface
from controlplane.node.api_reader import ApiReader
from controlplane.node.binaries import NodeBinaries
from controlplane.node.containerd_config import (
    ContainerdPaths,
    containerd_config,
    registry_hosts_toml,
)
from controlplane.node.coredns import NAME as COREDNS
from controlplane.node.coredns import NAMESPACE as COREDNS_NAMESPACE
from controlplane.node.coredns import coredns_objects
from controlplane.node.ctr import ctr_answers
from controlplane.node.images import (
    STAND_IN_NOTE,
    WORKLOAD_IMAGES,
    Image,
    coredns_image,
    ensure_archive,
    pause_image,
)
from controlplane.node.kube_proxy import (
    KubeProxySettings,
    kube_proxy_args,
    kube_proxy_configuration,
)
from controlplane.node.kubelet_config import (
    NODE_NAME,
    KubeletSettings,
    kubelet_args,
    kubelet_configuration,
)
from controlplane.node.layout import NodeLayout
from controlplane.node.network import (
    POD_CIDR_ENV,
    bridge_name,
    choose_pod_range,
    cni_conflist,
    host_routes,
    network_name,
)
from controlplane.node.pki import write_node_pki
from controlplane.node.publish import publish
from controlplane.node.registry import (
    REGISTRY_ENV,
    RegistrySettings,
    registry_args,
    registry_configuration,
)
from controlplane.node.teardown import NodeRecord
from controlplane.pki import PkiFiles
from controlplane.ports import LOOPBACK, free_ports
from controlplane.processes import ManagedProcess
from controlplane.readiness import HttpsProbe, http_ok, wait_for

Progress = Callable[[str], None]
Spawn = Callable[[str, list[str], Mapping[str, str]], ManagedProcess]
CGROUP_PREFIX = "/jobsink-"


class LocalNode:
    """One node for one control plane run. ``record`` is known before anything is created.

    ``services``: route Services (kube-proxy, the cluster DNS, Pods reaching the apiserver):
    True insists, None does whenever no other run on this machine routes them, False never.
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
        self.services_wanted = services
        self.service_lock = firewall.ServiceNetworkLock()
        self.registry: RegistrySettings | None = None
        self._binaries: NodeBinaries | None = None

    # -- before the control plane --------------------------------------------------------

    @property
    def services(self) -> bool:
        """Whether this node routes Services (decided by :meth:`open_network`)."""
        return self.service_lock.held

    @property
    def pod_address(self) -> str | None:
        """Where Pods reach the apiserver: the gateway, when this node routes Services."""
        return str(gateway(self.pod_range)) if self.services else None

    def open_network(self, say: Progress) -> None:
        """Take the Service network if wanted and free, and create the bridge with its
        gateway; without Services the bridge is left to the CNI plugin, as before."""
        if self.services_wanted is False:
            return
        holder = self.service_lock.try_acquire(f"the node of {self.layout.workdir}")
        if holder is not None:
            message = (
                f"Services are routed on this machine by {holder}; kube-proxy's rules are "
                "machine-wide, so only one run may route them at a time"
            )
            if self.services_wanted:
                raise ControlPlaneError(f"cannot route Services: {message}")
            say(f"no Services, no cluster DNS: {message}")
            return
        self.record.chain_prefix = firewall.Guard(
            self.run_id, self.record.bridge, SERVICE_RANGE, 0
        ).prefix
        host.create_bridge(self.record.bridge, str(gateway_interface(self.pod_range)))

    def fence(self, apiserver_port: int) -> None:
        """The run's own rules (see ``firewall``); again after a retry with other ports."""
        if not self.services or self.record.chain_prefix is None:
            return
        firewall.remove_chains(self.record.chain_prefix)
        firewall.install_guard(
            firewall.Guard(self.run_id, self.record.bridge, SERVICE_RANGE, apiserver_port)
        )

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
        self._write_files(binaries, authority, pki, server)
        host.create_cgroup(self.record.cgroup)

        assert self.registry is not None
        registry = spawn(
            "registry",
            registry_args(binaries.registry, self.layout.registry_config),
            REGISTRY_ENV,
        )
        scheduler = spawn("kube-scheduler", self._scheduler_args(binaries, pki), {})
        say("starting containerd")
        path = os.pathsep.join(
            [str(binaries.containerd.parent), str(binaries.runc.parent), os.environ["PATH"]]
        )
        containerd = spawn(
            "containerd",
            [str(binaries.containerd), f"--config={self.layout.containerd_config}"],
            {"PATH": path},
        )
        wait_for(
            lambda: ctr_answers(binaries.ctr, self.layout.containerd_socket, "version"),
            what="containerd to answer on its socket",
            timeout=min(60.0, remaining()),
            watched=[containerd],
        )
        wait_for(
            lambda: http_ok(f"{self.registry.url}/v2/"),  # type: ignore[union-attr]
            what="the registry /v2/",
            timeout=min(60.0, remaining()),
            watched=[registry],
        )
        references = ", ".join(image.reference for image in images)
        say(f"importing {references} into containerd and the node's registry; {STAND_IN_NOTE}")
        for archive, image in zip(archives, images, strict=True):
            self.publish_image(archive, image.reference)
        for archive, reference in extra_images:
            self.publish_image(archive, reference)

        say(f"starting kubelet (node {self.name}, Pod range {self.pod_range})")
        kubelet = spawn(
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
        everything = [registry, scheduler, containerd, kubelet]
        if self.services:
            say(f"starting kube-proxy (Services {SERVICE_RANGE}, cluster DNS {DNS_SERVICE_IP})")
            everything.append(
                spawn(
                    "kube-proxy",
                    kube_proxy_args(binaries.kube_proxy, self.layout.kube_proxy_config),
                    {},
                )
            )
            self._apply(kubectl, server, pki, self.layout.addons)
        probe = HttpsProbe(pki.ca_cert)
        api = ApiReader(server, pki)
        try:
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

    # -- files -------------------------------------------------------------------------

    def _write_files(
        self, binaries: NodeBinaries, authority: CertificateAuthority, pki: PkiFiles, server: str
    ) -> None:
        layout = self.layout
        for directory in (
            layout.root,
            layout.runtime_dir,
            layout.cni_conf_dir,
            layout.ipam_dir,
            layout.kubelet_root,
            layout.pod_logs,
            layout.volume_plugins,
            layout.registry_hosts / "_default",
            layout.registry_storage,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        layout.runtime_dir.chmod(0o700)
        node_pki = write_node_pki(
            layout.pki, authority, node_name=self.name, serving_ips=[LOOPBACK]
        )
        for path, client in (
            (layout.kubelet_kubeconfig, node_pki.kubelet_client),
            (layout.scheduler_kubeconfig, node_pki.scheduler_client),
        ):
            write_kubeconfig(
                path,
                kubeconfig_document(
                    server=server,
                    ca_cert=pki.ca_cert,
                    client_cert=client.cert,
                    client_key=client.key,
                ),
            )
        (
            self.kubelet_port,
            healthz_port,
            self.scheduler_port,
            registry_port,
            proxy_healthz_port,
            proxy_metrics_port,
        ) = free_ports(6)
        self.registry = RegistrySettings(registry_port, layout.registry_storage)
        layout.registry_config.write_text(yaml.safe_dump(registry_configuration(self.registry)))
        if self.services:
            write_kubeconfig(
                layout.kube_proxy_kubeconfig,
                kubeconfig_document(
                    server=server,
                    ca_cert=pki.ca_cert,
                    client_cert=node_pki.kube_proxy_client.cert,
                    client_key=node_pki.kube_proxy_client.key,
                ),
            )
            proxy = KubeProxySettings(
                kubeconfig=layout.kube_proxy_kubeconfig,
                pod_range=self.pod_range,
                node_address=gateway(self.pod_range),
                node_name=self.name,
                healthz_port=proxy_healthz_port,
                metrics_port=proxy_metrics_port,
            )
            layout.kube_proxy_config.write_text(yaml.safe_dump(kube_proxy_configuration(proxy)))
            layout.addons.write_text(yaml.safe_dump_all(coredns_objects()))
            self.record.kube_proxy = str(binaries.kube_proxy)
        settings = KubeletSettings(
            port=self.kubelet_port,
            healthz_port=healthz_port,
            cgroup_root=self.record.cgroup,
            runtime_socket=layout.containerd_socket,
            client_ca=pki.ca_cert,
            serving_cert=node_pki.kubelet_serving.cert,
            serving_key=node_pki.kubelet_serving.key,
            pod_logs=layout.pod_logs,
            volume_plugins=layout.volume_plugins,
            cluster_dns=DNS_SERVICE_IP if self.services else LOOPBACK,
        )
        layout.kubelet_config.write_text(yaml.safe_dump(kubelet_configuration(settings)))
        layout.containerd_config.write_text(
            containerd_config(
                ContainerdPaths(
                    root=layout.containerd_root,
                    state=layout.containerd_state,
                    temp=layout.containerd_temp,
                    socket=layout.containerd_socket,
                    shim_sockets=layout.shim_sockets,
                    runc=binaries.runc,
                    runc_root=layout.runc_root,
                    cni_bin=binaries.cni_dir,
                    cni_conf=layout.cni_conf_dir,
                    registry_hosts=layout.registry_hosts,
                    opt=layout.root / "containerd" / "opt",
                    cgroup=f"{self.record.cgroup}/runtime",
                )
            )
        )
        (layout.registry_hosts / "_default" / "hosts.toml").write_text(
            registry_hosts_toml(self.registry.url)
        )
        conflist = cni_conflist(
            network=self.record.network,
            bridge=self.record.bridge,
            pod_range=self.pod_range,
            ipam_dir=str(layout.ipam_dir),
            service_range=SERVICE_RANGE if self.services else None,
        )
        (layout.cni_conf_dir / "10-jobsink.conflist").write_text(json.dumps(conflist, indent=2))

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

    def _apply(self, kubectl: Path, server: str, pki: PkiFiles, manifest: Path) -> None:
        result = subprocess.run(
            [str(kubectl), f"--server={server}", f"--certificate-authority={pki.ca_cert}",
             f"--client-certificate={pki.admin_cert}", f"--client-key={pki.admin_key}",
             "apply", "--server-side", "--field-manager=jobsink-node", "-f", str(manifest)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise ControlPlaneError(f"applying {manifest} failed: {result.stderr.strip()}")
