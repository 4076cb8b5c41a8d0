"""Whether `jobsink dev` and `python -m controlplane` start a node, and why not when not."""

from __future__ import annotations

import pytest

from controlplane.errors import ControlPlaneError
from controlplane.node.preflight import node_wanted

NOT_ROOT = "a node needs root (containers need namespaces, cgroups and mounts); run as root"


@pytest.mark.parametrize(
    ("requested", "reason", "expected"),
    [
        (None, None, (True, None)),
        (None, NOT_ROOT, (False, NOT_ROOT)),
        (True, None, (True, None)),
        (False, None, (False, "--no-node was given")),
        (False, NOT_ROOT, (False, "--no-node was given")),
    ],
)
def test_a_node_runs_when_it_can_unless_refused(
    requested: bool | None, reason: str | None, expected: tuple[bool, str | None]
) -> None:
    assert node_wanted(requested, lambda: reason) == expected


def test_insisting_on_a_node_that_cannot_run_is_an_error_naming_the_reason() -> None:
    with pytest.raises(ControlPlaneError, match=r"^cannot start a node: a node needs root"):
        node_wanted(True, lambda: NOT_ROOT)
