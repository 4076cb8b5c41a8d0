"""The addresses a JobSink's status publishes, from the status settings and the listeners."""

from __future__ import annotations

from dataclasses import fields

from jobsink.lifecycle import Addressing, TransportEncryption
from receiver.auth.audience import audience_of
from receiver.settings import ServerSettings, StatusSettings


def addressing_from(status: StatusSettings, server: ServerSettings | None = None) -> Addressing:
    """Addresses follow the listeners unless ``transport_encryption`` says otherwise: HTTP only
    without a certificate; HTTPS only when the one port serves TLS; both when an extra plain-HTTP
    port runs next to it (Knative's disabled / strict / permissive). ``server`` None: plain HTTP.
    """
    mode = status.transport_encryption or _mode_of_listeners(server)
    ca_certs = status.ca_file.read_text() if status.ca_file else None
    return Addressing.for_service(
        namespace=status.system_namespace,
        service=status.service_name,
        cluster_domain=status.cluster_domain,
        mode=mode,
        ca_certs=ca_certs,
        http_base=status.public_url,
        https_base=status.public_https_url,
    )


def _mode_of_listeners(server: ServerSettings | None) -> TransportEncryption:
    if server is None or not server.tls_cert:
        return "disabled"
    return "permissive" if server.http_port else "strict"


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
