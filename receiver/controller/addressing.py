"""The addresses a JobSink's status publishes, from the status settings and the listeners."""

from __future__ import annotations

from jobsink.lifecycle import Addressing, TransportEncryption
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
