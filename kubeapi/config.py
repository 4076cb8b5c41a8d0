"""Connecting to the apiserver from a kubeconfig file or the in-cluster service account, and
sizing the connection pool.

``connect`` gives our own ``Transport`` (``kubeapi.transport``) and reads the kubeconfig itself
(``kubeapi.kubeconfig``); only a kubeconfig whose user runs a plugin (``exec``,
``auth-provider``) or that needs what our reader does not do goes through the official client's
loader, imported then and not before. ``load_api_client`` still gives an official-client
``ApiClient`` for the tools that want one.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kubeapi.kubeconfig import Unsupported, endpoint_of, in_cluster
from kubeapi.transport import DEFAULT_POOL_SIZE, Api, Transport, from_configuration

if TYPE_CHECKING:
    from kubernetes import client

TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def kubeconfig_paths(kubeconfig: str | None = None) -> list[str] | None:
    """The kubeconfig files to read: ``kubeconfig``, else ``$KUBECONFIG``'s, else None when the
    service-account token is mounted (in cluster), else ``~/.kube/config``.
    ``FileNotFoundError`` when none of the named files exists."""
    named = kubeconfig or os.environ.get("KUBECONFIG")
    if named is None:
        if os.path.exists(TOKEN_PATH):
            return None
        return [os.path.expanduser("~/.kube/config")]
    paths = [os.path.expanduser(p) for p in named.split(os.pathsep) if p]
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        # The official client would say "Invalid kube-config file. No configuration found." here.
        raise FileNotFoundError(errno.ENOENT, "no such kubeconfig file", named)
    return existing


def connect(kubeconfig: str | None = None, *, pool_size: int = DEFAULT_POOL_SIZE) -> Transport:
    """A ``Transport`` for ``kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config`` or the in-cluster
    service account (which wins only when no kubeconfig is named and its token is mounted)."""
    paths = kubeconfig_paths(kubeconfig)
    if paths is None:
        return Transport(in_cluster(os.environ), pool_size=pool_size)
    documents = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            document = yaml.safe_load(file) or {}
        documents.append((document, Path(path).resolve().parent))
    try:
        return Transport(endpoint_of(documents), pool_size=pool_size)
    except Unsupported:
        transport = from_configuration(_official_configuration(os.pathsep.join(paths)))
        transport.resize(pool_size)
        return transport


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """An official-client ``ApiClient`` for the same kubeconfig ``connect`` would read."""
    from kubernetes import client, config

    paths = kubeconfig_paths(kubeconfig)
    if paths is None:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration)
    return client.ApiClient(_official_configuration(os.pathsep.join(paths)))


def _official_configuration(path: str) -> client.Configuration:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=path, client_configuration=configuration)  # type: ignore[no-untyped-call]
    return configuration


def size_connection_pool(api: Api, size: int) -> None:
    """Keep up to ``size`` pooled connections to the apiserver (never fewer than configured).

    urllib3's default is 10; a process with more threads calling at once than that opens and
    throws away a connection per call under load. Call this before sending anything.
    """
    if isinstance(api, Transport):
        api.resize(size)
        return
    configuration = api.configuration
    if (configuration.connection_pool_maxsize or 0) < size:
        configuration.connection_pool_maxsize = size
    from kubeapi.transport import transport_of

    transport_of(api).resize(size)
