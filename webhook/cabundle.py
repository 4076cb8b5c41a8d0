"""Where the webhook's self-managed trust bundle goes: the ``caBundle`` of both configurations."""

from __future__ import annotations

import logging

from kubernetes import client

from certs.managed import Publish
from kubeapi import webhookconfigs
from kubeapi.errors import KubeError
from webhook.settings import SelfManagedSettings

log = logging.getLogger(__name__)


def publisher(api: client.ApiClient, settings: SelfManagedSettings) -> Publish:
    """Patches the bundle into the mutating and validating configurations; False when one of
    them could not be reached (not installed yet, say), so the caller retries soon."""
    targets: list[tuple[webhookconfigs.Kind, str]] = [
        ("mutatingwebhookconfigurations", settings.mutating_configuration),
        ("validatingwebhookconfigurations", settings.validating_configuration),
    ]

    def publish(bundle: bytes) -> bool:
        complete = True
        for kind, name in targets:
            try:
                if webhookconfigs.set_ca_bundle(api, kind, name, bundle):
                    log.info("caBundle patched", extra={"configuration": name})
            except KubeError as error:
                complete = False
                log.warning(
                    "caBundle not patched", extra={"configuration": name, "error": str(error)}
                )
        return complete

    return publish
