"""The kubeconfig clients use: kubectl, the Python client and kube-controller-manager.

Certificates are embedded rather than referenced, so the file still works when copied
elsewhere (for example into ``~/.kube/config`` by a user).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "jobsink-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def kubeconfig_document(
    *, server: str, ca_cert: Path, client_cert: Path, client_key: Path, name: str = CONTEXT
) -> dict[str, Any]:
    """A one-cluster, one-user kubeconfig with ``name`` as its current context."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [
            {
                "name": name,
                "user": {
                    "client-certificate-data": _b64(client_cert),
                    "client-key-data": _b64(client_key),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> None:
    """Write with owner-only permissions: the file holds the admin key."""
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
