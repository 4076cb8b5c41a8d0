"""Loading client configuration: a kubeconfig that does not exist is named as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeapi.config import load_api_client


@pytest.mark.parametrize("from_env", [False, True], ids=["flag", "KUBECONFIG"])
def test_a_missing_kubeconfig_is_named(
    from_env: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"{tmp_path}/nope/kubeconfig"
    if from_env:
        monkeypatch.setenv("KUBECONFIG", missing)
    with pytest.raises(FileNotFoundError) as caught:
        load_api_client(None if from_env else missing)
    assert caught.value.filename == missing
