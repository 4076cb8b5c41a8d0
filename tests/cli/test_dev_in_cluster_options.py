"""``jobsink dev --in-cluster`` refuses what cannot work before starting anything."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.exits import ExitCode
from cli.main import app


def test_in_cluster_without_the_node_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["dev", "--in-cluster", "--no-node"])
    assert result.exit_code == ExitCode.USAGE
    assert "--in-cluster runs the webhook and the receiver as Pods: it needs the node" in (
        result.output
    )
