"""Fixtures for scenarios that need a control plane of their own: ones that decide which status
reconcilers run, where the session's cluster-wide receiver (``receiver`` in conftest) would be one
more writer. A module overrides the session's fixtures with these, module-scoped:

    control_plane = own_plane.fixture(own_plane.control_plane)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from controlplane import ControlPlane
from tests.e2e import services


def fixture(function: Callable[..., Any]) -> Any:
    """``function`` as a module-scoped fixture of the module that assigns it."""
    return pytest.fixture(scope="module", name=function.__name__)(function)


def control_plane() -> Iterator[ControlPlane]:
    plane = ControlPlane()
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


def kubectl(control_plane: ControlPlane) -> Callable[..., Any]:
    return control_plane.kubectl


def api_client(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = control_plane.api_client()
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


def jobsink_crd(control_plane: ControlPlane) -> list[str]:
    return services.apply_crds(control_plane)
