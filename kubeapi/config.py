"""Building an ``ApiClient`` from a kubeconfig file or the in-cluster service account."""

from __future__ import annotations

import errno
import os

from kubernetes import client, config


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
