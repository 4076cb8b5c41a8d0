"""A failing end-to-end test reports the components' logs (run in a pytest of its own)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.support import REPO

FAILING_TEST = """
import pytest

@pytest.mark.e2e
def test_fails(control_plane):
    assert control_plane.kubectl("get", "--raw", "/readyz").stdout == "not ok"
"""


def test_a_failure_shows_the_log_tails_and_keeps_the_logs(tmp_path: Path) -> None:
    (tmp_path / "test_failing.py").write_text(FAILING_TEST)
    inner = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(tmp_path / "test_failing.py"),
            "-p", "tests.e2e.conftest", f"--rootdir={REPO}", "-c", str(REPO / "pyproject.toml"),
            "-p", "no:cacheprovider",
        ],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert inner.returncode == 1, inner.stdout + inner.stderr
    report = inner.stdout
    assert "control-plane logs (last lines)" in report
    for component in ("etcd", "kube-apiserver", "kube-controller-manager"):
        assert f"---- {component} (pid " in report
    kept = re.search(r"failed: full component logs kept in (\S+)", report)
    assert kept, report
    try:
        assert (Path(kept.group(1)) / "kube-apiserver.log").stat().st_size > 0
    finally:
        shutil.rmtree(kept.group(1), ignore_errors=True)
