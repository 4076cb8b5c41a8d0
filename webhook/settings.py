"""Webhook settings: environment variables ``JOBSINK_WEBHOOK_*``, overridden by CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyAddress, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    HttpLimits,
)

#: The apiserver gives up on the webhook after this long (``timeoutSeconds`` in the configurations).
WEBHOOK_TIMEOUT_SECONDS = 5

LogLevel = Literal["debug", "info", "warning", "error"]


class SelfManagedSettings(BaseSettings):
    """In-cluster mode: the webhook keeps its own CA and serving certificate in a Secret."""

    model_config = SettingsConfigDict(env_prefix="JOBSINK_WEBHOOK_CERTS_", extra="forbid")

    namespace: str = "knative-eventing"
    secret: str = "jobsink-webhook-certs"
    service: str = "jobsink-webhook"
    mutating_configuration: str = "defaulting.webhook.jobsink.knative.dev"
    validating_configuration: str = "validation.webhook.jobsink.knative.dev"
    #: How often the Secret is re-read (rotation by another replica is picked up within this).
    resync_seconds: float = Field(default=300.0, gt=0)
    #: IP SANs besides the Service's DNS names, e.g. ``["127.0.0.1"]`` when the apiserver calls
    #: the webhook by URL on loopback (local clusters, tests).
    ips: list[IPvAnyAddress] = Field(default_factory=list)

    @property
    def dns_names(self) -> list[str]:
        base = f"{self.service}.{self.namespace}"
        return [self.service, base, f"{base}.svc", f"{base}.svc.cluster.local"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBSINK_WEBHOOK_", extra="forbid")

    host: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)
    #: PEM files (file mode; the defaults are where the Deployment mounts the TLS Secret).
    #: Ignored in self-managed mode, which keeps the pair in a Secret of its own.
    tls_cert: Path = Path("/etc/jobsink/tls/tls.crt")
    tls_key: Path = Path("/etc/jobsink/tls/tls.key")
    kubeconfig: Path | None = None
    #: Server-side dry-run create of the rendered Job after local validation passes.
    dry_run: bool = True
    #: Must stay below the apiserver's timeout so a slow dry-run still yields our own answer.
    dry_run_timeout: float = Field(default=3.0, gt=0, lt=WEBHOOK_TIMEOUT_SECONDS)
    log_level: LogLevel = "info"
    #: Reviews carry the object and, on UPDATE, the old object; etcd caps each at 1.5 MiB.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    #: Connections plus in-flight requests beyond this get a fast 503 instead of queueing.
    max_concurrency: int = Field(default=1000, gt=0)
    #: The request head (request line and headers): larger, or more lines, is answered 431.
    max_header_bytes: int = Field(default=DEFAULT_MAX_HEADER_BYTES, ge=1024)
    max_headers: int = Field(default=DEFAULT_MAX_HEADERS, ge=1)
    #: Seconds a connection may take to send a request head, then to send the whole request.
    #: The apiserver sends a review in one go and gives up after ``WEBHOOK_TIMEOUT_SECONDS``,
    #: so a request still arriving after 10 s has no one waiting for its answer.
    header_timeout: float = Field(default=DEFAULT_HEADER_TIMEOUT, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    self_managed: bool = False
    certs: SelfManagedSettings = Field(default_factory=SelfManagedSettings)

    @model_validator(mode="after")
    def _head_within_request(self) -> Settings:
        if self.read_timeout < self.header_timeout:
            raise ValueError("read_timeout must be at least header_timeout")
        return self

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            max_header_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            header_timeout=self.header_timeout,
            read_timeout=self.read_timeout,
        )
