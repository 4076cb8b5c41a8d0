"""The project image, built from the Dockerfile by ``make image``'s builder, and run.

The image runs on a containerd of the node's release with runc, as the Deployments run it:
uid 65532, a read-only root filesystem and a writable ``/tmp``. Marked ``image`` (and ``e2e``,
as everything here); skipped where no node could run (not root, no cgroup v1), unless
``JOBSINK_REQUIRE_NODE=1`` (CI): then it fails.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controlplane.image import ImageBuild, ensure_project_image
from controlplane.image.base import ensure_base_image
from controlplane.image.binaries import ensure_buildkit
from controlplane.image.daemons import Daemons, running
from controlplane.image.layout import BuildLayout
from controlplane.node.binaries import ensure_node_binaries
from tests.e2e.node.runs import require_node

pytestmark = [pytest.mark.image, pytest.mark.slow]
NAMESPACE = "jobsink-test"
Run = Callable[..., subprocess.CompletedProcess[str]]


def _say(message: str) -> None:
    print(f"[image] {message}", flush=True)


@pytest.fixture(scope="module")
def project_image() -> ImageBuild:
    require_node()
    return ensure_project_image(_say, import_into=())


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemons]:
    """A containerd of its own (fresh state), with runc, for running images."""
    require_node()
    layout = BuildLayout(tmp_path_factory.mktemp("containerd"), f"test-{os.getpid()}")
    with running(layout, ensure_node_binaries(_say), None, _say) as daemons:
        yield daemons


@pytest.fixture(scope="module")
def run_image(project_image: ImageBuild, containerd: Daemons) -> Run:
    subprocess.run(
        containerd.ctr_argv("images", "import", "--local", str(project_image.archive),
                            namespace=NAMESPACE),
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    counter = iter(range(1_000_000))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        """Run ``args`` in the image as the Deployments do (the entrypoint is replaced)."""
        name = f"check-{next(counter)}"
        argv = containerd.ctr_argv(
            "run", "--rm", "--user=65532:65532", "--read-only",
            "--mount=type=tmpfs,src=tmpfs,dst=/tmp,options=rw:nosuid:nodev:mode=1777",
            f"--cgroup={containerd.layout.cgroup}/{name}",
            project_image.reference, name, *args, namespace=NAMESPACE,
        )  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)

    return run


def test_the_archive_is_named_by_the_reference_and_cached(project_image: ImageBuild) -> None:
    assert project_image.reference.startswith("localhost/jobsink/jobsink:")
    again = ensure_project_image(_say, import_into=())
    assert again.archive == project_image.archive
    assert not again.built


@pytest.mark.parametrize(
    "argv",
    [("jobsink", "--help"), ("jobsink", "receiver", "--help"), ("jobsink", "webhook", "--help")],
)
def test_the_cli_runs_as_nonroot_on_a_read_only_root(run_image: Run, argv: tuple[str, ...]) -> None:
    result = run_image(*argv)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_only_tmp_is_writable_and_the_user_is_65532(run_image: Run) -> None:
    probe = textwrap.dedent("""\
        import os, tempfile
        assert (os.getuid(), os.getgid()) == (65532, 65532), (os.getuid(), os.getgid())
        with tempfile.NamedTemporaryFile(dir="/tmp") as scratch:
            scratch.write(b"ok")
        for path in ("/opt/jobsink/written", "/written"):
            try:
                open(path, "w")
            except OSError as error:
                assert error.errno in (13, 30), error  # EACCES or EROFS
            else:
                raise AssertionError(f"{path} was writable")
        import receiver.app, webhook.app, cryptography.x509
        print("checked")
    """)
    result = run_image("python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "checked"


def test_a_build_arg_without_value_is_absent_from_run(tmp_path: Path) -> None:
    """Why the Dockerfile's pip ARGs have no default: unless passed, they are not set at all,
    so a plain ``docker build .`` installs from pip's default index."""
    require_node()
    (tmp_path / "Dockerfile").write_text(
        textwrap.dedent("""\
        ARG BASE_IMAGE
        FROM ${BASE_IMAGE}
        ARG PIP_FIND_LINKS
        ARG PIP_NO_INDEX
        RUN python -c "import os; open('/env', 'w').write(' '.join(sorted(os.environ)))"
        FROM scratch
        COPY --from=0 /env /
    """)
    )
    base, archive = ensure_base_image(_say)
    layout = BuildLayout(tmp_path / "state", f"test-{os.getpid()}")
    with running(layout, ensure_node_binaries(_say), ensure_buildkit(_say), _say) as daemons:
        subprocess.run(daemons.ctr_argv("images", "import", "--local", str(archive)),
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        for passed in ([], ["--opt=build-arg:PIP_NO_INDEX=1"]):
            out = tmp_path / f"out-{len(passed)}"
            result = subprocess.run(
                daemons.buildctl_argv(
                    "build", "--frontend=dockerfile.v0", f"--local=context={tmp_path}",
                    f"--local=dockerfile={tmp_path}",
                    f"--opt=build-arg:BASE_IMAGE={base.reference}",
                    "--opt=image-resolve-mode=local", *passed, f"--output=type=local,dest={out}",
                ),
                capture_output=True, text=True, check=False, timeout=300,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr[-2000:]
    assert "PIP_FIND_LINKS" not in (tmp_path / "out-0" / "env").read_text().split()
    assert "PIP_NO_INDEX" not in (tmp_path / "out-0" / "env").read_text().split()
    assert "PIP_NO_INDEX" in (tmp_path / "out-1" / "env").read_text().split()
