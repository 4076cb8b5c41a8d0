"""Service-account tokens for an audience: the ``TokenRequest`` subresource.

What a sender needs to reach a JobSink while the receiver's authentication is on: a short-lived
token of its service account, issued for the JobSink's audience. The apiserver refuses an
``expirationSeconds`` below 600 (ten minutes); shorter requests are raised to it here.
"""

from __future__ import annotations

import time

from kubeapi.calls import Caller
from kubeapi.transport import Api

MIN_EXPIRATION_SECONDS = 600


def request_token(
    api_client: Api,
    namespace: str,
    service_account: str,
    audience: str,
    *,
    expiration_seconds: int = MIN_EXPIRATION_SECONDS,
    timeout: float = 10.0,
) -> str:
    """A token of ``namespace/service_account`` for ``audience``, valid ``expiration_seconds``
    (at least ten minutes). Raises ``kubeapi.errors.KubeError`` (NotFound, Forbidden...)."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": [audience],
            "expirationSeconds": max(expiration_seconds, MIN_EXPIRATION_SECONDS),
        },
    }
    answer = Caller(api_client, attempt_timeout=timeout).call(
        "create_token",
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
        body=body,
        deadline=time.monotonic() + timeout,
        retry=False,
    )
    token = (answer.get("status") or {}).get("token")
    if not isinstance(token, str) or not token:
        raise ValueError("the apiserver's TokenRequest answer carries no token")
    return token
