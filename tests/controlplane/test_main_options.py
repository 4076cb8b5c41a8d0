"""``python -m controlplane``: options that cannot go together are refused before anything
starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from controlplane.__main__ import app


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--no-node", "--with-jobsink"], "--with-jobsink goes with --knative",
                     id="jobsink-without-knative"),
        pytest.param(["--no-node", "--knative"], "Knative runs as Pods and needs a node",
                     id="knative-without-node"),
    ],
)  # fmt: skip
def test_refused_before_anything_starts(argv: list[str], message: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert message in result.output
