"""Receiver settings: command-line flags override ``JOBSINK_RECEIVER_*`` environment variables.

``SYSTEM_NAMESPACE`` (the Deployment's downward-API namespace) is read without the prefix too.
The status-reconciler fields satisfy ``receiver.status.StatusSettings``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_EVENT_BYTES = 1024 * 1024
"""The apiserver refuses a Secret whose data values add up to more than 1 MiB (``MaxSecretSize``);
the event JSON is the Secret's only value, so this is the largest event that can be stored."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBSINK_RECEIVER_", extra="ignore", frozen=True)

    # Serving.
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535, description="main port; HTTPS when tls_cert is set")
    http_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="an extra plain-HTTP port next to HTTPS (probes, http URL)",
    )
    tls_cert: str | None = None
    tls_key: str | None = None
    kubeconfig: str | None = None
    namespace: str | None = Field(None, description="serve only this namespace's JobSinks")
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Load and backpressure.
    max_inflight: int = Field(64, ge=1, description="requests handled at once; beyond: 429")
    kube_qps: float = Field(0.0, ge=0, description="client-side limit on API calls/s; 0 = none")
    kube_burst: int = Field(100, ge=1)
    request_timeout: float = Field(20.0, gt=0, description="deadline for one event, retries incl.")
    body_timeout: float = Field(10.0, gt=0, description="time allowed to receive a request body")
    retry_after_seconds: int = Field(1, ge=0, description="Retry-After sent with 429 and 503")
    max_batch_events: int = Field(100, ge=1)
    drain_seconds: float = Field(
        3.0, ge=0, description="on SIGTERM, answer not-ready this long before closing listeners"
    )
    shutdown_timeout: float = Field(30.0, gt=0)

    # Sweeper of Jobs whose Secret never arrived.
    sweep_interval_seconds: float = Field(60.0, ge=0, description="0 disables the sweeper")
    sweep_grace_seconds: float = Field(300.0, gt=0)

    # JobSink status (see receiver.status.StatusSettings).
    status_reconciler: bool = True
    system_namespace: str = Field(
        "knative-eventing",
        validation_alias=AliasChoices(
            "system_namespace", "JOBSINK_RECEIVER_SYSTEM_NAMESPACE", "SYSTEM_NAMESPACE"
        ),
    )
    service_name: str = "job-sink"
    cluster_domain: str = "cluster.local"
    public_url: str | None = None
    public_https_url: str | None = None
    transport_encryption: Literal["disabled", "permissive", "strict"] | None = None
    ca_file: str | None = None
    lease_name: str = "jobsink-status-reconciler"  # config/200-roles-receiver.yaml names it
    lease_namespace: str | None = None
    lease_duration_seconds: float = 15.0
    lease_renew_seconds: float = 5.0

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self
