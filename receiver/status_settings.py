"""What the status reconciler reads from the receiver's settings, and the addresses that follow.

``StatusSettings`` is a read-only Protocol, so the receiver's pydantic-settings model fits it as is;
``StatusConfig`` holds the same defaults as a plain object for tests and tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jobsink.lifecycle import Addressing, TransportEncryption


class StatusSettings(Protocol):
    """What the reconciler reads from the receiver's settings (read-only, so any object with these
    attributes fits, a pydantic-settings model included)."""

    @property
    def system_namespace(self) -> str: ...
    @property
    def service_name(self) -> str: ...
    @property
    def cluster_domain(self) -> str: ...
    @property
    def public_url(self) -> str | None: ...
    @property
    def public_https_url(self) -> str | None: ...
    @property
    def transport_encryption(self) -> TransportEncryption | None: ...
    @property
    def tls_cert(self) -> str | None: ...
    @property
    def http_port(self) -> int | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def lease_name(self) -> str: ...
    @property
    def lease_namespace(self) -> str | None: ...
    @property
    def lease_duration_seconds(self) -> float: ...
    @property
    def lease_renew_seconds(self) -> float: ...


@dataclass(frozen=True)
class StatusConfig:
    """The defaults, as a plain object satisfying ``StatusSettings``."""

    system_namespace: str = "knative-eventing"
    service_name: str = "job-sink"
    cluster_domain: str = "cluster.local"
    public_url: str | None = None
    public_https_url: str | None = None
    transport_encryption: TransportEncryption | None = None
    tls_cert: str | None = None
    http_port: int | None = None
    ca_file: str | None = None
    lease_name: str = "jobsink-status-reconciler"
    lease_namespace: str | None = None
    lease_duration_seconds: float = 15.0
    lease_renew_seconds: float = 5.0


def addressing_from(settings: StatusSettings) -> Addressing:
    """Addresses follow the listeners unless ``transport_encryption`` says otherwise: HTTP only
    without a certificate; HTTPS only when the one port serves TLS; both when an extra plain-HTTP
    port runs next to it (Knative's disabled / strict / permissive)."""
    mode = settings.transport_encryption or _mode_of_listeners(settings)
    ca_certs = Path(settings.ca_file).read_text() if settings.ca_file else None
    return Addressing.for_service(
        namespace=settings.system_namespace,
        service=settings.service_name,
        cluster_domain=settings.cluster_domain,
        mode=mode,
        ca_certs=ca_certs,
        http_base=settings.public_url,
        https_base=settings.public_https_url,
    )


def _mode_of_listeners(settings: StatusSettings) -> TransportEncryption:
    if not settings.tls_cert:
        return "disabled"
    return "permissive" if settings.http_port else "strict"
