"""GETs against the apiserver as the admin user, for the node's start-up waits (JSON answers,
unlike ``HttpsProbe``)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from controlplane.pki import PkiFiles

NOT_READY_TAINT = "node.kubernetes.io/not-ready"


class ApiReader:
    """One client for the whole start-up; ``close()`` it."""

    def __init__(self, server: str, pki: PkiFiles) -> None:
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        self._server = server
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        self._client = httpx.Client(verify=context, timeout=5.0, trust_env=False)

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            response = self._client.get(f"{self._server}{path}")
        except httpx.HTTPError:
            return None
        if response.status_code != httpx.codes.OK:
            return None
        document: dict[str, Any] = response.json()
        return document

    def node_schedulable(self, name: str) -> bool:
        node = self.get(f"/api/v1/nodes/{name}")
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        taints = node.get("spec", {}).get("taints", [])
        return ready and not any(t["key"] == NOT_READY_TAINT for t in taints)

    def deployment_available(self, namespace: str, name: str) -> bool:
        deployment = self.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        if deployment is None:
            return False
        conditions = deployment.get("status", {}).get("conditions", [])
        return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)

    def close(self) -> None:
        self._client.close()
