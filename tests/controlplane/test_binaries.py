"""Where the binaries are looked up: KUBEBUILDER_ASSETS first, then the per-version cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.binaries import K8S_VERSION, SERVER_BINARIES, cache_dir, cache_root, find_binaries


def _fake_binaries(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in SERVER_BINARIES:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"JOBSINK_CACHE_DIR": "/c/explicit", "XDG_CACHE_HOME": "/x"}, "/c/explicit"),
        ({"XDG_CACHE_HOME": "/x"}, "/x/jobsink"),
        ({"HOME": "/home/u"}, "/home/u/.cache/jobsink"),
    ],
    ids=["explicit", "xdg", "home"],
)
def test_cache_root_matches_the_build_script(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    for variable in ("JOBSINK_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert cache_root() == Path(expected)
    assert cache_dir() == Path(expected) / f"k8s-{K8S_VERSION}"


def test_kubebuilder_assets_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assets = _fake_binaries(tmp_path / "assets")
    _fake_binaries(tmp_path / "cache" / f"k8s-{K8S_VERSION}")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path / "cache"))
    found = find_binaries()
    assert found is not None
    assert found.kube_apiserver == assets / "kube-apiserver"
    assert found.kubectl.name == "kubectl"


def test_incomplete_assets_fall_back_to_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "etcd").write_text("")  # not executable, and the others are missing
    cached = _fake_binaries(tmp_path / "cache" / f"k8s-{K8S_VERSION}")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path / "cache"))
    found = find_binaries()
    assert found is not None
    assert found.etcd == cached / "etcd"


def test_nothing_found_means_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path / "empty"))
    assert find_binaries() is None


def test_envtest_assets_without_a_controller_manager_are_completed_from_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assets = tmp_path / "envtest"
    assets.mkdir()
    for name in ("etcd", "kube-apiserver"):
        (assets / name).write_text("#!/bin/sh\n")
        (assets / name).chmod(0o755)
    cached = _fake_binaries(tmp_path / "cache" / f"k8s-{K8S_VERSION}")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path / "cache"))
    found = find_binaries()
    assert found is not None
    assert (found.etcd, found.kube_apiserver) == (assets / "etcd", assets / "kube-apiserver")
    assert found.kube_controller_manager == cached / "kube-controller-manager"
