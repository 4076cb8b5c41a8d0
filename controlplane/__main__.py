"""``python -m controlplane``: run a local control plane in the foreground until Ctrl-C.

The only line on stdout is ``export KUBECONFIG=...``, printed once Pods can be created;
progress goes to stderr, so a script can wait for that first line and a human can paste it.
Exit codes: 0 after Ctrl-C or SIGTERM (everything stopped), 1 if start-up fails or a component
dies (the message carries its log tail).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from controlplane.cluster import ControlPlane
from controlplane.errors import ControlPlaneError
from controlplane.knative import (
    install_jobsink_python,
    knative_unavailable_reason,
    start_knative,
)
from controlplane.kueue import kueue_unavailable_reason
from controlplane.node import node_wanted
from controlplane.ports import Ports

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _progress(message: str) -> None:
    print(f"[control plane] {message}", file=sys.stderr, flush=True)


@app.command()
def main(
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep PKI, etcd data, logs and kubeconfig here (kept after exit)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="kube-apiserver port on 127.0.0.1 (default: a free one).")
    ] = None,
    node: Annotated[
        bool | None,
        typer.Option(
            "--node/--no-node",
            help="Also run a local node (containerd, kubelet, kube-scheduler) so Pods run. "
            "Default: whenever one can run here (Linux, root, cgroup v1).",
        ),
    ] = None,
    kueue: Annotated[
        bool,
        typer.Option(
            "--kueue",
            help="Also run Kueue's controller manager (sigs.k8s.io/kueue, built from its Go "
            "module) with its webhooks, so Jobs labelled kueue.x-k8s.io/queue-name are queued.",
        ),
    ] = False,
    knative: Annotated[
        bool,
        typer.Option(
            "--knative",
            help="Also run Knative Eventing's core, in-memory channel and multi-tenant broker "
            "(knative.dev/eventing, built from its Go module) as Pods on the node; implies a "
            "node that routes Services.",
        ),
    ] = False,
    with_jobsink: Annotated[
        bool,
        typer.Option(
            "--with-jobsink",
            help="With --knative: JobSink for Python serves in place of Knative's job-sink "
            "data plane (the project image built and published on the node, then `jobsink "
            "manifests --knative-eventing` applied, as in the README's 'With Knative Eventing').",
        ),
    ] = False,
) -> None:
    """Start etcd, kube-apiserver and kube-controller-manager (Kubernetes v1.36.3) on 127.0.0.1,
    and a local node on which Pods run (unless --no-node, or a node cannot run here).

    Without a node there is no scheduler and no kubelet: Pods are created but stay Pending.
    """
    # SIGTERM gets the same clean shutdown as Ctrl-C, also in the middle of start-up. SIGINT is
    # set explicitly because a shell starting us in the background leaves it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        with_node, why_not = node_wanted(node)
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    if why_not:
        _progress(f"no node ({why_not}): Pods will stay Pending")
    if kueue and (kueue_missing := kueue_unavailable_reason()):
        print(f"error: cannot run Kueue: {kueue_missing}", file=sys.stderr)
        raise typer.Exit(1)
    if knative and (node is False or why_not):
        print(
            f"error: Knative runs as Pods and needs a node: {why_not or '--no-node'}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    if with_jobsink and not knative:
        print("error: --with-jobsink goes with --knative", file=sys.stderr)
        raise typer.Exit(1)
    if knative and (knative_missing := knative_unavailable_reason()):
        print(f"error: cannot run Knative Eventing: {knative_missing}", file=sys.stderr)
        raise typer.Exit(1)
    plane = ControlPlane(
        workdir=workdir,
        ports=Ports.free(apiserver=port) if port else None,
        node=with_node,
        kueue=kueue,
        # Knative's Pods reach each other and are reached by the apiserver through Services.
        services=True if knative else None,
    )
    try:
        plane.start(progress=_progress)
        if knative:
            running = start_knative(plane, _progress)
            if with_jobsink:
                install_jobsink_python(plane, running, _progress)
        print(f"export KUBECONFIG={plane.kubeconfig}", flush=True)
        _progress(f"logs in {plane.layout.logs}; Ctrl-C to stop")
        ended = plane.first_exit()
        raise ControlPlaneError(
            f"{ended.name} exited with code {ended.returncode}:\n{ended.log_tail(20)}"
        )
    except KeyboardInterrupt:
        pass
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        _progress("stopping")
        try:
            plane.stop()
        except ControlPlaneError as error:
            print(f"error: {error}", file=sys.stderr)
            raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
