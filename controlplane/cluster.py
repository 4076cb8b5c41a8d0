"""``ControlPlane``: etcd, kube-apiserver and kube-controller-manager as local processes.

    with ControlPlane() as cp:
        cp.kubectl("get", "namespaces")

By default there is no scheduler and no kubelet: Pods are created (by the job controller, for
example) but stay Pending forever. ``ControlPlane(node=True)`` adds a local node (containerd,
kubelet, kube-scheduler, and kube-proxy, CoreDNS and a loopback registry; see
``controlplane.node``) on which Pods run to their end and reach Services, the cluster DNS and
the apiserver as on a cluster.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from kubernetes import client, config

from certs.authority import CertificateAuthority
from controlplane.binaries import Binaries, ensure_binaries
from controlplane.errors import ControlPlaneError, KubectlError
from controlplane.kueue import RunningKueue, start_kueue
from controlplane.layout import Layout, clear_kept_workdir
from controlplane.node.addresses import KUBERNETES_SERVICE_IP, KUBERNETES_SERVICE_NAMES
from controlplane.node.binaries import NodeBinaries, ensure_node_binaries
from controlplane.node.node import LocalNode
from controlplane.node.teardown import TeardownIncomplete, safe_to_remove, teardown_node
from controlplane.pki import PkiFiles, write_pki
from controlplane.ports import Ports
from controlplane.processes import ManagedProcess
from controlplane.readiness import ComponentExited
from controlplane.startup import launch, server_url
from controlplane.state import ProcessRecord, RunRecord, RunRegistry, current_owner

Progress = Callable[[str], None]

START_TIMEOUT = 180.0
NODE_START_TIMEOUT = 120.0
PORT_ATTEMPTS = 3


def _quiet(_message: str) -> None:
    pass


class ControlPlane:
    """One local control plane. ``start()`` blocks until it serves; ``stop()`` is idempotent.

    ``workdir``: where PKI, etcd data, logs and the kubeconfig go. By default a fresh temporary
    directory that ``stop()`` removes; a directory you pass is kept (its logs included).
    ``ports``: fixed ports; by default free ones are picked, and start-up retries with new
    ones if another process grabs one first.
    ``node``: also start a local node (needs Linux and root; see ``controlplane.node.preflight``);
    ``pod_range`` is its Pod network (default: a private range no host route uses);
    ``services``: the node routes Services and runs the cluster DNS (None: whenever no other
    run on this machine does; True: insist; False: never); ``extra_images``: (OCI archive,
    reference) pairs the node publishes before its kubelet starts (see
    ``LocalNode.publish_image`` for later ones).
    ``kueue``: also run Kueue's controller manager with its webhooks (see ``controlplane.kueue``).
    """

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        ports: Ports | None = None,
        binaries: Binaries | None = None,
        registry: RunRegistry | None = None,
        keep_workdir: bool = False,
        timeout: float = START_TIMEOUT,
        node: bool = False,
        pod_range: str | None = None,
        kueue: bool = False,
        services: bool | None = None,
        extra_images: Sequence[tuple[Path, str]] = (),
    ) -> None:
        self._requested_workdir = workdir
        self._requested_ports = ports
        self._binaries = binaries
        self._registry = registry or RunRegistry()
        self._keep_workdir = keep_workdir or workdir is not None
        self._timeout = timeout
        self._run_id = uuid.uuid4().hex[:12]
        self._layout: Layout | None = None
        self._ports: Ports | None = None
        self._authority: CertificateAuthority | None = None
        self._processes: list[ManagedProcess] = []
        self._want_node = node
        self._pod_range = pod_range
        self._services = services
        self._extra_images = tuple(extra_images)
        self._node: LocalNode | None = None
        self._want_kueue = kueue
        self._kueue: RunningKueue | None = None
        self._node_binaries: NodeBinaries | None = None
        self.startup_seconds: float | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, progress: Progress | None = None) -> Self:
        say = progress or _quiet
        if self._layout is not None:
            raise ControlPlaneError("this control plane is already started")
        for message in self._registry.reclaim_stale():
            say(message)
        self._binaries = self._binaries or ensure_binaries(say)
        began = time.monotonic()
        self._layout = Layout(self._new_workdir())
        self._save_record()
        # A script that never calls stop() still ends its processes when Python exits.
        atexit.register(self.stop)
        try:
            if self._want_node:
                self._open_node_network(say)
            pod_address = self._node.pod_address if self._node is not None else None
            _, self._authority = write_pki(
                self._layout.pki.directory,
                extra_dns_names=KUBERNETES_SERVICE_NAMES if pod_address else (),
                extra_ips=(pod_address, KUBERNETES_SERVICE_IP) if pod_address else (),
            )
            self._start_components(say)
            self.startup_seconds = time.monotonic() - began
            say(f"control plane ready at {self.server} in {self.startup_seconds:.1f}s")
            if self._node is not None:
                self._start_node(say)
            if self._want_kueue:
                self._kueue = start_kueue(self, say)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every process we started (newest first), undo the node's host changes, then
        remove temporary files. Raises ``ControlPlaneError`` if the node left something behind
        (the run's record is then kept, so the next start tries again)."""
        atexit.unregister(self.stop)
        self._kueue = None  # its process is one of ours, stopped with the others
        self._stop_processes()
        node, self._node = self._node, None
        try:
            if node is not None:
                teardown_node(node.record, node.service_lock)
        except TeardownIncomplete as error:
            raise ControlPlaneError(f"the node was not fully torn down: {error}") from None
        finally:
            layout, self._layout, self._ports = self._layout, None, None
        self._registry.remove(self._run_id)
        if layout is not None and not self._keep_workdir and safe_to_remove(layout.workdir):
            shutil.rmtree(layout.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start() if self._layout is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what clients need -------------------------------------------------------------

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            raise ControlPlaneError("the control plane is not started")
        return self._layout

    @property
    def run_id(self) -> str:
        """This run's name on the machine: its node's bridge, chains and records carry it."""
        return self._run_id

    @property
    def workdir(self) -> Path:
        return self.layout.workdir

    @property
    def ports(self) -> Ports:
        if self._ports is None:
            raise ControlPlaneError("the control plane is not started")
        return self._ports

    @property
    def binaries(self) -> Binaries:
        if self._binaries is None:
            raise ControlPlaneError("the control plane is not started")
        return self._binaries

    @property
    def server(self) -> str:
        return server_url(self.ports)

    @property
    def kubeconfig(self) -> Path:
        return self.layout.kubeconfig

    @property
    def pki(self) -> PkiFiles:
        return self.layout.pki

    @property
    def ca_cert(self) -> Path:
        return self.pki.ca_cert

    @property
    def admin_cert(self) -> Path:
        return self.pki.admin_cert

    @property
    def admin_key(self) -> Path:
        return self.pki.admin_key

    @property
    def authority(self) -> CertificateAuthority:
        """The CA the apiserver trusts; also handy for issuing a webhook's serving cert."""
        if self._authority is None:
            raise ControlPlaneError("the control plane is not started")
        return self._authority

    @property
    def node(self) -> LocalNode | None:
        """The running local node, or None when this plane runs without one."""
        return self._node

    @property
    def kueue(self) -> RunningKueue | None:
        """Kueue's running manager, or None when this plane runs without it."""
        return self._kueue

    @property
    def processes(self) -> Sequence[ManagedProcess]:
        return tuple(self._processes)

    def environment(self) -> dict[str, str]:
        """``os.environ`` with ``KUBECONFIG`` pointing at this control plane."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this plane; a failure raises ``KubectlError`` if ``check``."""
        argv = [str(self.binaries.kubectl), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result.returncode, result.stdout, result.stderr)
        return result

    def api_client(self) -> client.ApiClient:
        """A fresh official-client ``ApiClient`` authenticated as the admin user."""
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]  # the client has no stubs
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return client.ApiClient(configuration)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        """Start a helper process (a webhook, a receiver) that lives and dies with this plane.

        It inherits ``environment()`` plus ``env``, logs to ``logs/<name>.log``, is stopped
        before the control plane, and a later run reclaims it if this one is killed.
        """
        return self._track(
            ManagedProcess.spawn(
                name,
                argv,
                self.layout.log(name),
                env={**self.environment(), **(env or {})},
                cwd=cwd,
            )
        )

    def first_exit(self, poll: float = 1.0) -> ManagedProcess:
        """Block until one of our processes (a component or a helper) ends; returns it."""
        while True:
            for process in self._processes:
                if not process.running:
                    return process
            time.sleep(poll)

    def log_tails(self, lines: int = 40) -> str:
        """The end of every component's log, for failure reports."""
        sections = []
        for process in self._processes:
            state = "running" if process.running else f"exited {process.returncode}"
            header = f"---- {process.name} (pid {process.pid}, {state}) {process.log_path} ----"
            sections.append(f"{header}\n{process.log_tail(lines)}")
        return "\n".join(sections)

    # -- start-up ----------------------------------------------------------------------

    def _new_workdir(self) -> Path:
        if self._requested_workdir is None:
            return Path(tempfile.mkdtemp(prefix="jobsink-cp-"))
        workdir = self._requested_workdir.resolve()
        clear_kept_workdir(Layout(workdir))
        workdir.mkdir(parents=True, exist_ok=True)
        return workdir

    def _save_record(self) -> None:
        self._registry.save(
            self._run_id,
            RunRecord(
                owner=current_owner(),
                workdir=str(self.layout.workdir),
                remove_workdir=not self._keep_workdir,
                processes=[
                    ProcessRecord(name=p.name, pid=p.pid, marker=p.marker) for p in self._processes
                ],
                node=self._node.record if self._node is not None else None,
            ),
        )

    def _start_components(self, say: Progress) -> None:
        node = self._node
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self._ports = self._requested_ports or Ports.free()
            if node is not None:
                node.fence(self.ports.apiserver)
            try:
                launch(
                    self._start, self.binaries, self.layout, self.ports,
                    timeout=self._timeout, say=say, node=self._want_node,
                    pod_address=node.pod_address if node is not None else None,
                )  # fmt: skip
                return
            except ComponentExited as exited:
                retry = (
                    exited.port_conflict
                    and self._requested_ports is None
                    and attempt < PORT_ATTEMPTS
                )
                if not retry:
                    raise
                say(f"{exited.process.name}: port taken by another process, retrying")
                self._stop_processes()
                shutil.rmtree(self.layout.etcd_data, ignore_errors=True)

    def _open_node_network(self, say: Progress) -> None:
        """Before the apiserver: its address for Pods and its packet filter depend on it."""
        self._node_binaries = ensure_node_binaries(say)
        node = LocalNode(self.layout.workdir, self._run_id, self._pod_range, self._services)
        # Recorded before anything exists on the host, so a kill from here on is reclaimed.
        self._node = node
        self._save_record()
        node.open_network(say)
        self._save_record()

    def _start_node(self, say: Progress) -> None:
        node, binaries = self._node, self._node_binaries
        assert node is not None
        assert binaries is not None
        node.start(
            binaries=binaries,
            authority=self.authority,
            pki=self.pki,
            server=self.server,
            spawn=lambda name, argv, env: self._track(
                ManagedProcess.spawn(name, argv, self.layout.log(name), env={**os.environ, **env})
            ),
            say=say,
            timeout=NODE_START_TIMEOUT,
            kubectl=self.binaries.kubectl,
            extra_images=self._extra_images,
        )
        self._save_record()

    def _start(self, name: str, argv: list[str]) -> ManagedProcess:
        return self._track(ManagedProcess.spawn(name, argv, self.layout.log(name)))

    def _stop_processes(self) -> None:
        """Newest first: the helpers, then the controller manager, the apiserver, etcd."""
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    def _track(self, process: ManagedProcess) -> ManagedProcess:
        """Stopped with this plane, and recorded so that a later run reclaims it."""
        self._processes.append(process)
        self._save_record()
        return process
