"""``caBundle`` of the admission webhook configurations (admissionregistration.k8s.io/v1)."""

from __future__ import annotations

import base64
import time
from typing import Literal

from kubeapi.calls import Caller
from kubeapi.errors import Conflict
from kubeapi.resources import (
    MUTATING_WEBHOOK_CONFIGURATIONS,
    VALIDATING_WEBHOOK_CONFIGURATIONS,
    ResourceType,
    path,
)
from kubeapi.transport import Api

Kind = Literal["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
RESOURCES: dict[Kind, ResourceType] = {
    "mutatingwebhookconfigurations": MUTATING_WEBHOOK_CONFIGURATIONS,
    "validatingwebhookconfigurations": VALIDATING_WEBHOOK_CONFIGURATIONS,
}
ATTEMPTS = 5
REQUEST_TIMEOUT = 10.0


def set_ca_bundle(api: Api, kind: Kind, name: str, bundle: bytes) -> bool:
    """Put ``bundle`` into every webhook of the configuration. False if it was already there.

    Read-modify-write with the resourceVersion as precondition, retried on conflict, so a
    concurrent edit (another replica, kubectl) is never overwritten. Raises a ``KubeError``
    (``NotFound`` when the configuration is not installed, ``Conflict`` when it kept changing).
    """
    caller = Caller(api, attempt_timeout=REQUEST_TIMEOUT)
    where = path(RESOURCES[kind], name=name)
    encoded = base64.b64encode(bundle).decode()
    attempt = 0
    while True:
        attempt += 1
        deadline = time.monotonic() + REQUEST_TIMEOUT
        configuration = caller.call("get_webhook_configuration", "GET", where, deadline=deadline)
        webhooks = configuration.get("webhooks") or []
        if all(w.get("clientConfig", {}).get("caBundle") == encoded for w in webhooks):
            return False
        for webhook in webhooks:
            webhook.setdefault("clientConfig", {})["caBundle"] = encoded
        try:
            caller.call(
                "replace_webhook_configuration",
                "PUT",
                where,
                body=configuration,
                deadline=deadline,
                retry=False,
            )
        except Conflict:
            if attempt < ATTEMPTS:
                continue
            raise
        return True
