"""Receiver settings, in groups; every setting reads a ``JOBSINK_RECEIVER_*`` environment variable,
and a command-line flag, where there is one, wins over it.

A setting's variable is its group's prefix plus its name in capitals: ``server.port`` is
``JOBSINK_RECEIVER_PORT``, ``sweeper.interval_seconds`` is
``JOBSINK_RECEIVER_SWEEP_INTERVAL_SECONDS``. The few whose variable reads otherwise name it with
``validation_alias``; the Deployment's downward-API ``SYSTEM_NAMESPACE`` is read unprefixed too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from pydantic import AliasChoices, Field, IPvAnyAddress, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from certs.authority import CA_LIFETIME, LEAF_LIFETIME
from jobsink.lifecycle import TransportEncryption
from receiver.auth.policy_decision import DEFAULT_MODE, AuthorizationMode
from serving.limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    HttpLimits,
)

PREFIX: Final = "JOBSINK_RECEIVER_"

MAX_EVENT_BYTES = 1024 * 1024
"""The apiserver refuses a Secret whose data values add up to more than 1 MiB (``MaxSecretSize``);
the event JSON is the Secret's only value, so this is the largest event that can be stored."""

SWEEP_GRACE_MARGIN_SECONDS: Final = 5.0
"""How much longer than the request deadline the sweep grace must be: a Job's creationTimestamp
is cut to the second, the last Kubernetes call may end a moment past the deadline, and the
apiserver's clock (which stamps the Job) and the receiver's (which judges its age) differ a
little."""

MIN_LIFETIME_SECONDS: Final = 3600.0
"""Self-managed certificates are back-dated a few minutes against clock skew
(``certs.authority.BACKDATE``), and that counts towards their lifetime: one much shorter than an
hour would be due for renewal the moment it is issued."""

LogLevel = Literal["debug", "info", "warning", "error"]
TlsVersion = Literal["1.2", "1.3"]


def _config(prefix: str = "") -> SettingsConfigDict:
    # validate_by_name: fields that name their variable with an alias still take their own name
    # as a keyword (flags, tests).
    return SettingsConfigDict(
        env_prefix=PREFIX + prefix, extra="forbid", frozen=True, validate_by_name=True
    )


class TlsSettings(BaseSettings):
    """The HTTPS listener's certificate: files (cert-manager's Secret, mounted) when ``cert`` and
    ``key`` are set, else self-managed in the Secret ``secret`` (``receiver.certificates``)."""

    model_config = _config("TLS_")

    cert: Path | None = Field(
        None, description="serving certificate file (PEM); reloaded on change"
    )
    key: Path | None = Field(None, description="private key file of cert (PEM)")
    ca: Path | None = Field(
        None, description="with cert: CA certificates published as CACerts (cert-manager's ca.crt)"
    )
    min_version: TlsVersion = Field(
        "1.2", description="lowest TLS version offered, 1.2 or 1.3; 1.3 is preferred either way"
    )
    secret: str = Field(
        "job-sink-certs", description="self-managed: the Secret (system namespace) holding them"
    )
    ips: list[IPvAnyAddress] = Field(
        default_factory=list,
        description="self-managed: IP addresses the certificate names besides the Service DNS",
    )
    serving_lifetime_seconds: float = Field(
        LEAF_LIFETIME.total_seconds(),
        ge=MIN_LIFETIME_SECONDS,
        description="self-managed: serving certificate lifetime; renewed after 2/3 of it",
    )
    ca_lifetime_seconds: float = Field(
        CA_LIFETIME.total_seconds(),
        ge=MIN_LIFETIME_SECONDS,
        description="self-managed: CA lifetime; replaced after 2/3, trusted until it expires",
    )
    resync_seconds: float = Field(
        300.0, gt=0, description="self-managed: how often the Secret is read again"
    )

    @model_validator(mode="after")
    def _files_go_together(self) -> TlsSettings:
        if (self.cert is None) != (self.key is None):
            raise ValueError("tls cert and key go together: give both or neither")
        if self.ca is not None and self.cert is None:
            raise ValueError(
                "tls ca goes with cert and key: self-managed certificates publish their own CA"
            )
        if self.serving_lifetime_seconds > self.ca_lifetime_seconds:
            raise ValueError(
                f"serving_lifetime_seconds ({self.serving_lifetime_seconds:.0f}) must not exceed "
                f"ca_lifetime_seconds ({self.ca_lifetime_seconds:.0f})"
            )
        return self

    @property
    def self_managed(self) -> bool:
        return self.cert is None


class ServerSettings(BaseSettings):
    """The listeners and how they stop."""

    model_config = _config()

    host: str = Field("0.0.0.0", description="bind address")
    port: int = Field(
        8080,
        ge=0,
        le=65535,
        description="plain-HTTP port: probes, /metrics, and events unless transport is strict",
    )
    transport_encryption: TransportEncryption = Field(
        "disabled",
        description="disabled (HTTP only), permissive (HTTP and HTTPS) or strict (events over "
        "HTTPS only), as Knative's transport-encryption feature",
    )
    https_port: int = Field(
        8443, ge=0, le=65535, description="HTTPS port, unless transport_encryption is disabled"
    )
    tls: TlsSettings = Field(default_factory=TlsSettings)
    drain_seconds: float = Field(
        3.0, ge=0, description="on SIGTERM, answer not-ready this long before closing listeners"
    )
    shutdown_timeout: float = Field(
        30.0, gt=0, description="how long in-flight requests may take to finish on shutdown"
    )

    max_header_bytes: int = Field(
        DEFAULT_MAX_HEADER_BYTES,
        ge=1024,
        description="request head (request line and headers) in bytes; larger: 431, closed",
    )
    max_headers: int = Field(
        DEFAULT_MAX_HEADERS, ge=1, description="header lines per request; more: 431, closed"
    )
    header_timeout: float = Field(
        DEFAULT_HEADER_TIMEOUT,
        gt=0,
        description="seconds to send a request head; then 408 (a silent new connection: closed)",
    )
    read_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds to send a whole request, body included; then 408 and closed",
    )

    @model_validator(mode="after")
    def _head_within_request(self) -> ServerSettings:
        if self.read_timeout < self.header_timeout:
            raise ValueError(
                f"read_timeout ({self.read_timeout}) must be at least header_timeout "
                f"({self.header_timeout}): the head is part of the request"
            )
        return self

    @property
    def https(self) -> bool:
        """Whether the HTTPS listener runs."""
        return self.transport_encryption != "disabled"

    @property
    def http_limits(self) -> HttpLimits:
        """What one connection may cost before the app sees a request (``serving``)."""
        return HttpLimits(
            max_header_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            header_timeout=self.header_timeout,
            read_timeout=self.read_timeout,
        )


class LimitSettings(BaseSettings):
    """Load and backpressure of the data plane."""

    model_config = _config()

    max_inflight: int = Field(
        64, ge=1, description="Kubernetes calls (one event's, or a batch's) at once; beyond: 429"
    )
    request_timeout: float = Field(
        20.0, gt=0, description="deadline for one event's Kubernetes calls, retries included"
    )
    body_timeout: float = Field(
        10.0,
        gt=0,
        description="time from a request's head to the last byte of its body; beyond: 408, closed",
    )
    body_budget_bytes: int = Field(
        64 * 1024 * 1024,
        ge=MAX_EVENT_BYTES,
        description="bytes of request bodies arriving at once, all requests together; beyond: 503",
    )
    retry_after_seconds: int = Field(1, ge=0, description="Retry-After sent with 429 and 503")
    max_batch_events: int = Field(100, ge=1, description="events in one batch-mode request")


class KubeSettings(BaseSettings):
    """The Kubernetes client."""

    model_config = _config("KUBE_")

    kubeconfig: Path | None = Field(
        None,
        validation_alias=PREFIX + "KUBECONFIG",
        description="kubeconfig file; default $KUBECONFIG, ~/.kube/config or in-cluster",
    )
    qps: float = Field(0.0, ge=0, description="client-side limit on API calls/s; 0 = none")
    burst: int = Field(100, ge=1, description="API calls allowed at once above qps")


class IndexSettings(BaseSettings):
    """The Job index that answers the duplicate check (``receiver.jobindex``)."""

    model_config = _config("INDEX_")

    max_entries: int = Field(
        2_000_000,
        ge=0,
        description="Jobs indexed at most (about 150 bytes each); past it, events whose Job "
        "is not indexed are checked against the apiserver",
    )


class SweeperSettings(BaseSettings):
    """The sweeper of Jobs whose event Secret never arrived."""

    model_config = _config("SWEEP_")

    interval_seconds: float = Field(60.0, ge=0, description="time between sweeps; 0 disables")
    grace_seconds: float = Field(
        300.0,
        gt=0,
        description="age after which a Job without its Secret is deleted; at least "
        "request_timeout + 5",
    )


class LeaseSettings(BaseSettings):
    """The Lease that elects the one receiver process writing JobSink status."""

    model_config = _config("LEASE_")

    name: str = Field(
        "jobsink-status-reconciler",
        description="the Lease's name (config/200-roles-receiver.yaml grants access to it)",
    )
    namespace: str | None = Field(None, description="the Lease's namespace; default: system")
    duration_seconds: float = Field(15.0, gt=0, description="how long a holder's claim lasts")
    renew_seconds: float = Field(5.0, gt=0, description="how often the holder renews its claim")

    @model_validator(mode="after")
    def _renew_within_duration(self) -> LeaseSettings:
        if self.renew_seconds >= self.duration_seconds:
            raise ValueError(
                f"renew_seconds ({self.renew_seconds:g}) must be shorter than "
                f"duration_seconds ({self.duration_seconds:g})"
            )
        return self


class AuthorizationSettings(BaseSettings):
    """Which authenticated senders may deliver to a JobSink: Knative's EventPolicies, and the
    default mode for JobSinks no policy applies to (``receiver.auth.policy_decision``). With
    authentication off nobody is refused, as in Knative."""

    model_config = _config()

    default_mode: AuthorizationMode = Field(
        DEFAULT_MODE,
        validation_alias=PREFIX + "DEFAULT_AUTHORIZATION_MODE",
        description="for JobSinks no EventPolicy applies to: allow-all, allow-same-namespace "
        "(service accounts of the JobSink's namespace) or deny-all (Knative's "
        "default-authorization-mode)",
    )
    event_policies: bool = Field(
        True,
        validation_alias=PREFIX + "EVENT_POLICIES",
        description="watch Knative EventPolicies (list/watch on eventpolicies); off: the default "
        "mode decides for every JobSink",
    )


class StatusSettings(BaseSettings):
    """The JobSink status reconciler and the addresses it publishes
    (``receiver.controller.addressing``)."""

    model_config = _config()

    enabled: bool = Field(
        True,
        validation_alias=PREFIX + "STATUS_RECONCILER",
        description="write JobSink status (one writer at a time, elected by the Lease)",
    )
    system_namespace: str = Field(
        "knative-eventing",
        validation_alias=AliasChoices(PREFIX + "SYSTEM_NAMESPACE", "SYSTEM_NAMESPACE"),
        description="namespace of the receiver's Service and, by default, of the Lease",
    )
    service_name: str = Field("job-sink", description="the receiver's Service")
    cluster_domain: str = Field("cluster.local", description="the cluster's DNS domain")
    public_url: str | None = Field(
        None, description="base of the published http address instead of the Service's"
    )
    public_https_url: str | None = Field(
        None, description="base of the published https address instead of the Service's"
    )
    lease: LeaseSettings = Field(default_factory=LeaseSettings)


class AuthenticationSettings(BaseSettings):
    """Who may send: OIDC bearer tokens (Kubernetes service-account tokens by default), each
    JobSink with its own audience (``receiver.auth``). Named after Knative's
    ``authentication-oidc`` feature and ``oidc-discovery-base-url`` setting."""

    model_config = _config("OIDC_")

    enabled: bool = Field(
        False,
        validation_alias=PREFIX + "AUTHENTICATION_OIDC",
        description="require a bearer token for the JobSink's audience on every POST and GET "
        "of an event (Knative's authentication-oidc: enabled/disabled, or true/false)",
    )
    discovery_base_url: str | None = Field(
        None,
        description="issuer whose /.well-known/openid-configuration and JWKS verify tokens; "
        "default: the kube-apiserver's, fetched with the receiver's own credentials",
    )
    discovery_ca_file: Path | None = Field(
        None, description="CA certificates for discovery_base_url (default: the system's)"
    )
    clock_skew_seconds: float = Field(
        30.0, ge=0, le=300, description="slack on a token's exp and nbf for clocks that differ"
    )
    refetch_seconds: float = Field(
        5.0,
        gt=0,
        description="a token naming an unknown key refetches the JWKS at most this often",
    )
    keys_max_age_seconds: float = Field(
        300.0, gt=0, description="the JWKS is refreshed when older than this"
    )
    max_token_bytes: int = Field(
        16 * 1024, ge=1024, le=64 * 1024, description="longer tokens are refused unread (401)"
    )
    verified_tokens: int = Field(
        10_000,
        ge=0,
        description="verified tokens remembered until they expire, about 1.5 KB each (0: none)",
    )

    @field_validator("enabled", mode="before")
    @classmethod
    def _knative_words(cls, value: object) -> object:
        # Knative's feature flags read "enabled"/"disabled"; a bool reads as usual.
        if isinstance(value, str) and value.strip().lower() in ("enabled", "disabled"):
            return value.strip().lower() == "enabled"
        return value


class KnativeSettings(BaseSettings):
    """Serving in place of Knative Eventing's ``job-sink`` data plane
    (``jobsink manifests --knative-eventing``), where Knative's controller writes JobSink status."""

    model_config = _config("KNATIVE_")

    features: str | None = Field(
        None,
        description="Knative's feature-flag ConfigMap in the system namespace (config-features), "
        "followed live: its authentication-oidc turns token checks on and off and its "
        "default-authorization-mode replaces default_authorization_mode; unset: not followed",
    )


class Settings(BaseSettings):
    """Everything ``jobsink receiver`` reads when it starts."""

    model_config = _config()

    namespace: str | None = Field(None, description="serve only this namespace's JobSinks")
    log_level: LogLevel = Field("info", description="debug, info, warning or error")
    server: ServerSettings = Field(default_factory=ServerSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    kube: KubeSettings = Field(default_factory=KubeSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    sweeper: SweeperSettings = Field(default_factory=SweeperSettings)
    authorization: AuthorizationSettings = Field(default_factory=AuthorizationSettings)
    status: StatusSettings = Field(default_factory=StatusSettings)
    authentication: AuthenticationSettings = Field(default_factory=AuthenticationSettings)
    knative: KnativeSettings = Field(default_factory=KnativeSettings)

    @model_validator(mode="after")
    def _one_writer_of_audiences(self) -> Settings:
        # Our status reconciler publishes audiences from our own authentication setting; with
        # Knative's flags followed, Knative's controller publishes them from the same flags.
        if self.knative.features and self.status.enabled:
            raise ValueError(
                f"knative features ({PREFIX}KNATIVE_FEATURES={self.knative.features}) are "
                "followed only where Knative's controller writes JobSink status: set "
                f"{PREFIX}STATUS_RECONCILER=false"
            )
        return self

    @model_validator(mode="after")
    def _grace_outlasts_a_delivery(self) -> Settings:
        # A delivery writes its Job, then its Secret, within its request deadline; a sweeper that
        # judged the Job orphaned before the Secret came would delete an event answered 202.
        grace, deadline = self.sweeper.grace_seconds, self.limits.request_timeout
        if self.sweeper.interval_seconds and grace < deadline + SWEEP_GRACE_MARGIN_SECONDS:
            raise ValueError(
                f"sweeper grace_seconds ({PREFIX}SWEEP_GRACE_SECONDS={grace:g}) must be at least "
                f"limits request_timeout ({PREFIX}REQUEST_TIMEOUT={deadline:g}) plus "
                f"{SWEEP_GRACE_MARGIN_SECONDS:g} s: a Job younger than that may still be waiting "
                "for the Secret its delivery is writing"
            )
        return self
