"""Loading client configuration: a kubeconfig that does not exist is named as such, by both
loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeapi.config import connect, load_api_client


@pytest.mark.parametrize("loader", [connect, load_api_client], ids=["ours", "official"])
@pytest.mark.parametrize("from_env", [False, True], ids=["flag", "KUBECONFIG"])
def test_a_missing_kubeconfig_is_named(
    loader: Any, from_env: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"{tmp_path}/nope/kubeconfig"
    if from_env:
        monkeypatch.setenv("KUBECONFIG", missing)
    with pytest.raises(FileNotFoundError) as caught:
        loader(None if from_env else missing)
    assert caught.value.filename == missing
