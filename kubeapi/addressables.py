"""Reads any namespaced object named by apiVersion and kind: how a Destination's ``ref`` is read.

A ``ref`` names a kind (``Broker``, ``Service``, ``JobSink``...), and the REST path needs the
resource's plural, which only the apiserver's discovery document of that group-version knows.
Each group-version is discovered once and kept (a kind's plural does not change while the
resource exists); a kind not found is asked again on the next read, since a CRD may be installed
in between.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import NotFound
from kubeapi.resources import ResourceType, path


class UnknownKind(LookupError):
    """The apiserver serves no namespaced resource of that apiVersion and kind."""


class Addressables:
    def __init__(self, caller: Caller, *, timeout: float = 10.0) -> None:
        self._caller = caller
        self._timeout = timeout
        self._resources: dict[tuple[str, str], ResourceType] = {}
        self._lock = threading.Lock()

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist; :class:`UnknownKind` when its kind is not
        served; ``kubeapi.errors`` classes for other failures."""
        resource = self.resource(api_version, kind)
        try:
            return self._caller.call(
                f"get_{resource.plural}",
                "GET",
                path(resource, namespace, name),
                deadline=time.monotonic() + self._timeout,
            )
        except NotFound:
            return None

    def resource(self, api_version: str, kind: str) -> ResourceType:
        with self._lock:
            known = self._resources.get((api_version, kind))
        if known is not None:
            return known
        group, _, version = api_version.rpartition("/")
        discovery = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            document = self._caller.call(
                "discover", "GET", discovery, deadline=time.monotonic() + self._timeout
            )
        except NotFound:
            raise UnknownKind(f"the cluster serves no {api_version}") from None
        for entry in document.get("resources") or []:
            if entry.get("kind") == kind and "/" not in str(entry.get("name")):
                if not entry.get("namespaced"):
                    raise UnknownKind(f"{kind} ({api_version}) is not a namespaced kind")
                resource = ResourceType(group, version, str(entry["name"]), kind, namespaced=True)
                with self._lock:
                    self._resources[(api_version, kind)] = resource
                return resource
        raise UnknownKind(f"the cluster serves no kind {kind} in {api_version}")
