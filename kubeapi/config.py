"""Building an ``ApiClient`` from a kubeconfig file or the in-cluster service account, and sizing
its connection pool."""

from __future__ import annotations

import errno
import os

from kubernetes import client, config
from kubernetes.client import rest


def load_api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """An ApiClient for ``kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config`` or in-cluster config.

    In-cluster config wins only when no kubeconfig is named and the service-account token is
    mounted, which is how a Pod sees the apiserver.
    """
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path is not None and not any(
        os.path.exists(os.path.expanduser(p)) for p in path.split(os.pathsep) if p
    ):
        # The client would say "Invalid kube-config file. No configuration found." here.
        raise FileNotFoundError(errno.ENOENT, "no such kubeconfig file", path)
    configuration = client.Configuration()
    if path is None and os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(config_file=path, client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def size_connection_pool(api_client: client.ApiClient, size: int) -> None:
    """Keep up to ``size`` pooled connections to the apiserver (never fewer than configured).

    urllib3's default is 5 x CPUs; a process with more threads calling at once than that opens
    and throws away a connection per call under load. The pool is built when the client is, so
    a larger one means a new ``RESTClientObject``: call this before sending anything.
    """
    configuration = api_client.configuration
    if (configuration.connection_pool_maxsize or 0) < size:
        configuration.connection_pool_maxsize = size
        api_client.rest_client = rest.RESTClientObject(configuration)
