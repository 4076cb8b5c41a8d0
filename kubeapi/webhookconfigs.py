"""``caBundle`` of the admission webhook configurations (admissionregistration.k8s.io/v1)."""

from __future__ import annotations

import base64
from typing import Literal

from kubernetes import client

from kubeapi.raw import KubeError, request

Kind = Literal["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
ATTEMPTS = 5


def set_ca_bundle(api: client.ApiClient, kind: Kind, name: str, bundle: bytes) -> bool:
    """Put ``bundle`` into every webhook of the configuration. False if it was already there.

    Read-modify-write with the resourceVersion as precondition, retried on conflict, so a
    concurrent edit (another replica, kubectl) is never overwritten. Raises ``KubeError`` (404 when
    the configuration is not installed).
    """
    path = f"/apis/admissionregistration.k8s.io/v1/{kind}/{name}"
    encoded = base64.b64encode(bundle).decode()
    for attempt in range(ATTEMPTS):
        configuration = request(api, "GET", path)
        webhooks = configuration.get("webhooks") or []
        if all(w.get("clientConfig", {}).get("caBundle") == encoded for w in webhooks):
            return False
        for webhook in webhooks:
            webhook.setdefault("clientConfig", {})["caBundle"] = encoded
        try:
            request(api, "PUT", path, body=configuration)
        except KubeError as error:
            if error.status == 409 and attempt + 1 < ATTEMPTS:
                continue
            raise
        return True
    return False  # unreachable: the last attempt returns or raises
