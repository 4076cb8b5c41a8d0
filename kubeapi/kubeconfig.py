"""Reading a kubeconfig, or the Pod's service account, into an ``Endpoint``: pure functions over
the parsed documents, so every rule has a table-driven test.

What is read: the current (or named) context's cluster (``server``, ``certificate-authority``
and ``-data``, ``insecure-skip-tls-verify``, ``tls-server-name``) and user (``token``,
``tokenFile``, ``client-certificate``/``client-key`` and their ``-data``). Relative file names
are relative to the kubeconfig that names them; several files (``KUBECONFIG=a:b``) merge as in
kubectl: the first file to define a name or ``current-context`` wins.

What is not: a user with an ``exec`` or ``auth-provider`` plugin, or a username and password.
Those raise ``Unsupported``, and ``kubeapi.config`` hands the kubeconfig to the official client's
loader instead (which runs the plugins). A cluster behind a ``proxy-url`` is refused
(``KubeconfigError``): nothing here connects through a proxy.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubeapi.transport import Endpoint

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
UNSUPPORTED_USER = ("exec", "auth-provider", "username", "password")


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used: it names what is missing or wrong."""


class Unsupported(Exception):
    """The kubeconfig asks for what only the official client's loader does (the reason says)."""


Document = tuple[Mapping[str, Any], Path]
"""A parsed kubeconfig and the directory its relative file names start from."""


def endpoint_of(documents: Sequence[Document], context: str | None = None) -> Endpoint:
    """The endpoint of ``context`` (default: the merged ``current-context``)."""
    name = context or _first(documents, "current-context")
    if not name:
        raise KubeconfigError("no current-context and no context named")
    found = _named(documents, "contexts", "context", name)
    if found is None:
        raise KubeconfigError(f"context {name!r} not found")
    ctx, _ = found
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    cluster_found = _named(documents, "clusters", "cluster", str(cluster_name or ""))
    if cluster_found is None:
        raise KubeconfigError(f"context {name!r}: cluster {cluster_name!r} not found")
    cluster, cluster_dir = cluster_found
    user, user_dir = _named(documents, "users", "user", str(user_name or "")) or ({}, Path())
    if cluster.get("proxy-url"):
        # Neither our connections nor an adapted official configuration go through a proxy.
        raise KubeconfigError(f"cluster {cluster_name!r}: proxy-url is not supported")
    for key in UNSUPPORTED_USER:
        if user.get(key):
            raise Unsupported(f"user {user_name!r} has {key}")
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f"cluster {cluster_name!r}: server is missing")
    ca_data = _data(cluster, "certificate-authority-data")
    cert_data = _data(user, "client-certificate-data")
    key_data = _data(user, "client-key-data")
    return Endpoint(
        server=str(server),
        ca_file=None if ca_data else _file(cluster, "certificate-authority", cluster_dir),
        ca_data=ca_data.decode("ascii", "replace") if ca_data else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        cert_file=None if cert_data else _file(user, "client-certificate", user_dir),
        key_file=None if key_data else _file(user, "client-key", user_dir),
        cert_data=cert_data,
        key_data=key_data,
        token=user.get("token") or None,
        token_file=_file(user, "tokenFile", user_dir),
    )


def in_cluster(env: Mapping[str, str], root: Path = SERVICE_ACCOUNT) -> Endpoint:
    """The apiserver as a Pod sees it: ``KUBERNETES_SERVICE_HOST``/``_PORT``, the mounted CA
    and the service account's token file (read again as it rotates)."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeconfigError(
            "in cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"
        )
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return Endpoint(
        server=f"https://{host}:{port}",
        ca_file=str(root / "ca.crt"),
        token_file=str(root / "token"),
    )


def _first(documents: Sequence[Document], key: str) -> str | None:
    for document, _ in documents:
        value = document.get(key)
        if value:
            return str(value)
    return None


def _named(
    documents: Sequence[Document], section: str, member: str, name: str
) -> tuple[Mapping[str, Any], Path] | None:
    for document, directory in documents:
        for entry in document.get(section) or []:
            if isinstance(entry, Mapping) and entry.get("name") == name:
                value = entry.get(member)
                return (value if isinstance(value, Mapping) else {}), directory
    return None


def _file(section: Mapping[str, Any], key: str, directory: Path) -> str | None:
    value = section.get(key)
    if not value:
        return None
    path = os.path.expanduser(str(value))
    return path if os.path.isabs(path) else str(directory / path)


def _data(section: Mapping[str, Any], key: str) -> bytes | None:
    value = section.get(key)
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{key}: not base64") from None
