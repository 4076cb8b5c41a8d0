"""``jobsink dev``: the whole system on this machine, and the seed document's story told on it.

Runs in the foreground until Ctrl-C (or SIGTERM), then stops every process it started.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from cli.exits import ExitCode, fail
from cli.ticker import Ticker

if TYPE_CHECKING:
    from cli.stack import Stack

#: Source checkout root (``.jobsink-dev/`` goes there); the stack imports lazily, see ``dev``.
REPO_ROOT = Path(__file__).resolve().parents[1]


def default_workdir() -> Path:
    """``.jobsink-dev/`` in a source checkout (git-ignored), else the user's cache directory."""
    from controlplane.binaries import cache_root

    if (REPO_ROOT / ".git").exists():
        return REPO_ROOT / ".jobsink-dev"
    return cache_root() / "dev"


@contextlib.contextmanager
def _exclusive(workdir: Path) -> Iterator[None]:
    """One ``jobsink dev`` per directory: a second one would wipe the first one's etcd data."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fail(
                f"another `jobsink dev` is running in {workdir}; stop it or pass --workdir",
                ExitCode.USAGE,
            )
        yield


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Stages:
    """One ticker per start-up stage; the previous one closes when the next begins."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.current: Ticker | None = None

    def step(self, label: str) -> None:
        self.close()
        self.current = Ticker(label, stream=self.stream).__enter__()

    def say(self, message: str) -> None:
        if self.current is not None:
            self.current.say(message)
        else:
            print(f"  {message}", file=self.stream, flush=True)

    def close(self, failed: BaseException | None = None) -> None:
        if self.current is not None:
            self.current.__exit__(type(failed) if failed else None, failed, None)
            self.current = None


def _command(name: str, path: Path) -> str:
    """``name`` if $PATH finds this very binary, else its full path (the venv is not active)."""
    found = shutil.which(name)
    return name if found and Path(found).resolve() == path.resolve() else str(path)


def _node_line(running: Stack) -> str:
    from controlplane.node import STAND_IN_NOTE

    node = running.plane.node
    if node is None:
        return "  node            none: Pods stay Pending\n"
    return (
        f"  node            {node.name}, Pods on {node.pod_range}\n"
        f"                  ({STAND_IN_NOTE})\n"
    )


def _summary(running: Stack) -> str:
    from cli.stack import jobsink_executable

    kubeconfig = running.kubeconfig
    kubectl = _command("kubectl", running.plane.binaries.kubectl)
    jobsink = _command("jobsink", Path(jobsink_executable()))
    return f"""
JobSink for Python is running. Ctrl-C stops everything.

  kube-apiserver  {running.plane.server}
  webhook         {running.webhook_url}  (/defaulting, /validation)
  receiver        {running.receiver_url}  (POST /<namespace>/<jobsink>)
{_node_line(running)}  logs            {running.plane.layout.logs}
  kubeconfig      {kubeconfig}

Try:
  export KUBECONFIG={kubeconfig}
  KUBECONFIG={kubeconfig} {kubectl} get jobsinks.sinks.knative.dev -A
  JOBSINK_URL={running.receiver_url} {jobsink} send default/job-sink-logger \\
      --source my/source --type my.type --id 42 --data '{{"hello":"world"}}'
"""


def _watch(running: Stack) -> None:
    """Block until interrupted; a component that dies ends the run with its log tail."""
    ended = running.plane.first_exit()
    print(running.plane.log_tails(20), file=sys.stderr)
    fail(
        f"{ended.name} exited with status {ended.returncode}; its log is {ended.log_path}",
        ExitCode.REFUSED,
    )


def dev(
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Start the stack without telling the story.")
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Directory for PKI, etcd data, logs and the kubeconfig.", file_okay=False
        ),
    ] = None,
    receiver_port: Annotated[
        int, typer.Option(help="Receiver port on 127.0.0.1 (0 or taken: any free port).", min=0)
    ] = 8080,
    webhook_port: Annotated[
        int, typer.Option(help="Webhook port on 127.0.0.1 (0: any free port).", min=0)
    ] = 0,
    exit_after_demo: Annotated[
        bool, typer.Option("--exit", help="Stop after the story instead of staying up.")
    ] = False,
    node: Annotated[
        bool | None,
        typer.Option(
            "--node/--no-node",
            help="Run a local node (containerd, kubelet, kube-scheduler) so Pods run. "
            "Default: whenever one can run here (Linux, root, cgroup v1); --node insists.",
        ),
    ] = None,
    in_cluster: Annotated[
        bool,
        typer.Option(
            "--in-cluster",
            help="Install as on a cluster instead: the image built from the Dockerfile "
            "(BuildKit, cached), the bundle applied, the webhook and receiver as Pods behind "
            "their Services, the documentation's logger applied. Needs the node.",
        ),
    ] = False,
) -> None:
    """Run a local Kubernetes control plane and node with the JobSink webhook and receiver.

    Starts etcd, kube-apiserver and kube-controller-manager (v1.36.3), a node
    (containerd, kubelet and kube-scheduler, when one can run here) plus
    `jobsink webhook` and `jobsink receiver`, all on 127.0.0.1; installs the
    CRD and the webhook configurations; tells the user documentation's story
    (apply, READY, send, Job, its logs, duplicate, rejection); then stays up
    until Ctrl-C, which stops every process it started.

    Exit codes: 0 stopped (Ctrl-C, or --exit after the story), 1 a story
    step failed or a component died, 2 bad options or the work directory is
    in use, 3 the stack did not start.

    Examples:
      jobsink dev
      jobsink dev --no-demo --receiver-port 9090
      jobsink dev --no-node
      jobsink dev --in-cluster
    """
    if in_cluster:
        if node is False:
            fail("--in-cluster runs the webhook and the receiver as Pods: it needs the node",
                 ExitCode.USAGE)  # fmt: skip
        _dev_in_cluster((workdir or default_workdir()).resolve(), exit_after_demo)
        return

    # Imported here so that `jobsink --help` and the other commands stay fast and independent.
    from cli import stack as dev_stack
    from cli.story import Story, StoryError
    from controlplane import ControlPlaneError
    from controlplane.node import node_wanted

    try:
        with_node, why_not = node_wanted(node)
    except ControlPlaneError as error:
        fail(str(error), ExitCode.USAGE)
    if why_not:
        print(f"no node: {why_not}; Pods will stay Pending", flush=True)
    workdir = (workdir or default_workdir()).resolve()
    # Ctrl-C and SIGTERM end the run the same way; SIGINT explicitly too, because a shell starts
    # background jobs with SIGINT ignored and `kill -INT` should still stop us cleanly.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stages = Stages(sys.stdout)
    running: Stack | None = None
    with _exclusive(workdir):
        try:
            try:
                running = dev_stack.start(
                    workdir,
                    say=stages.say,
                    step=stages.step,
                    webhook_port=webhook_port,
                    receiver_port=receiver_port,
                    node=with_node,
                )
                stages.close()
            except BaseException as error:
                stages.close(error)
                raise
            if not no_demo:
                Story(running).tell()
            print(_summary(running), flush=True)
            if not exit_after_demo:
                _watch(running)
        except KeyboardInterrupt:
            print("\ninterrupted", flush=True)
        except ControlPlaneError as error:
            fail(f"{error} (logs: {workdir / 'logs'})", ExitCode.UNREACHABLE)
        except StoryError as error:
            fail(f"{error} (logs: {workdir / 'logs'})", ExitCode.REFUSED)
        finally:
            if running is not None:
                # A second Ctrl-C must not cut the teardown short and strand processes; each
                # one gets SIGTERM and, after a bounded wait, SIGKILL.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                parts = "the webhook, the node" if running.has_node else "the webhook"
                print(f"stopping the receiver, {parts} and the control plane ...", flush=True)
                try:
                    running.stop()
                except ControlPlaneError as error:
                    fail(str(error), ExitCode.REFUSED)
                print("stopped; nothing left running.", flush=True)


def _dev_in_cluster(workdir: Path, exit_after_install: bool) -> None:
    """The README's install on the local node, the logger applied; up until Ctrl-C."""
    from cli import in_cluster
    from controlplane import ControlPlaneError
    from controlplane.node import node_wanted

    try:
        node_wanted(True)
    except ControlPlaneError as error:
        fail(str(error), ExitCode.USAGE)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stages = Stages(sys.stdout)
    running: in_cluster.InCluster | None = None
    with _exclusive(workdir):
        try:
            try:
                running = in_cluster.install(REPO_ROOT, workdir, say=stages.say,
                                             step=stages.step)  # fmt: skip
                stages.close()
            except BaseException as error:
                stages.close(error)
                raise
            kubectl = _command("kubectl", running.plane.binaries.kubectl)
            print(in_cluster.summary(running, kubectl), flush=True)
            if not exit_after_install:
                ended = running.plane.first_exit()
                print(running.plane.log_tails(20), file=sys.stderr)
                fail(f"{ended.name} exited with status {ended.returncode}", ExitCode.REFUSED)
        except KeyboardInterrupt:
            print("\ninterrupted", flush=True)
        except ControlPlaneError as error:
            fail(f"{error} (logs: {workdir / 'logs'})", ExitCode.UNREACHABLE)
        finally:
            if running is not None:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                print("stopping the node and the control plane ...", flush=True)
                try:
                    running.plane.stop()
                except ControlPlaneError as error:
                    fail(str(error), ExitCode.REFUSED)
                print("stopped; nothing left running.", flush=True)


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)
