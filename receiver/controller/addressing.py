"""The addresses a JobSink's status publishes, from the status settings and the listeners."""

from __future__ import annotations

from jobsink.lifecycle import Addressing
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
