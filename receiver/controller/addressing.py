"""The addresses a JobSink's status publishes, from the status settings and the listeners."""

from __future__ import annotations

from dataclasses import fields

from jobsink.lifecycle import Addressing
from receiver.auth.audience import audience_of
from receiver.settings import ServerSettings, StatusSettings


def addressing_from(
    status: StatusSettings, server: ServerSettings | None = None, ca_certs: str | None = None
) -> Addressing:
    """Addresses follow the listeners' ``transport_encryption``: HTTP only when disabled, HTTPS
    and HTTP when permissive, HTTPS only when strict. ``server`` None: plain HTTP. ``ca_certs``
    is the PEM of the CAs that sign the HTTPS listener's certificate (``CACerts``)."""
    return Addressing.for_service(
        namespace=status.system_namespace,
        service=status.service_name,
        cluster_domain=status.cluster_domain,
        mode=server.transport_encryption if server else "disabled",
        ca_certs=ca_certs,
        http_base=status.public_url,
        https_base=status.public_https_url,
    )


def with_audience(address: dict[str, str], audience: str) -> dict[str, str]:
    """``address`` with the OIDC ``audience`` a sender must request its token for."""
    return {**address, "audience": audience}


class _AudiencedAddressing(Addressing):
    """Every address of a JobSink carries its audience (``primary`` is one of them)."""

    def addresses(self, namespace: str, name: str) -> list[dict[str, str]]:
        audience = audience_of(namespace, name)
        return [with_audience(address, audience) for address in super().addresses(namespace, name)]


def with_audiences(addressing: Addressing) -> Addressing:
    """``addressing`` publishing each JobSink's audience, as Knative does while
    ``authentication-oidc`` is on; without it the audience is left out, and so cleared by the
    status patch."""
    return _AudiencedAddressing(**{f.name: getattr(addressing, f.name) for f in fields(addressing)})
