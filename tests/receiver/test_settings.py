"""Receiver settings: every setting's environment variable, the groups' checks, and nothing read
from variables that belong to someone else."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from receiver.settings import (
    MAX_EVENT_BYTES,
    KnativeSettings,
    LeaseSettings,
    LimitSettings,
    ServerSettings,
    Settings,
    SweeperSettings,
    TlsSettings,
)

# Every setting, by the variable that sets it (the names the Deployment and the docs use).
VARIABLES: list[tuple[str, str, str, Any]] = [
    ("JOBSINK_RECEIVER_NAMESPACE", "namespace", "team-a", "team-a"),
    ("JOBSINK_RECEIVER_LOG_LEVEL", "log_level", "debug", "debug"),
    ("JOBSINK_RECEIVER_HOST", "server.host", "127.0.0.1", "127.0.0.1"),
    ("JOBSINK_RECEIVER_PORT", "server.port", "8081", 8081),
    ("JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION", "server.transport_encryption", "strict", "strict"),
    ("JOBSINK_RECEIVER_HTTPS_PORT", "server.https_port", "9443", 9443),
    ("JOBSINK_RECEIVER_TLS_MIN_VERSION", "server.tls.min_version", "1.3", "1.3"),
    ("JOBSINK_RECEIVER_TLS_SECRET", "server.tls.secret", "rx-certs", "rx-certs"),
    ("JOBSINK_RECEIVER_TLS_IPS", "server.tls.ips", '["127.0.0.1"]', [ip_address("127.0.0.1")]),
    (
        "JOBSINK_RECEIVER_TLS_SERVING_LIFETIME_SECONDS",
        "server.tls.serving_lifetime_seconds",
        "3600",
        3600.0,
    ),
    (
        "JOBSINK_RECEIVER_TLS_CA_LIFETIME_SECONDS",
        "server.tls.ca_lifetime_seconds",
        "100000000",
        1e8,
    ),
    ("JOBSINK_RECEIVER_TLS_RESYNC_SECONDS", "server.tls.resync_seconds", "30", 30.0),
    ("JOBSINK_RECEIVER_DRAIN_SECONDS", "server.drain_seconds", "0.5", 0.5),
    ("JOBSINK_RECEIVER_SHUTDOWN_TIMEOUT", "server.shutdown_timeout", "9", 9.0),
    ("JOBSINK_RECEIVER_MAX_HEADER_BYTES", "server.max_header_bytes", "16384", 16384),
    ("JOBSINK_RECEIVER_MAX_HEADERS", "server.max_headers", "50", 50),
    ("JOBSINK_RECEIVER_HEADER_TIMEOUT", "server.header_timeout", "2.5", 2.5),
    ("JOBSINK_RECEIVER_READ_TIMEOUT", "server.read_timeout", "12", 12.0),
    ("JOBSINK_RECEIVER_MAX_INFLIGHT", "limits.max_inflight", "8", 8),
    ("JOBSINK_RECEIVER_REQUEST_TIMEOUT", "limits.request_timeout", "3", 3.0),
    ("JOBSINK_RECEIVER_BODY_TIMEOUT", "limits.body_timeout", "2", 2.0),
    ("JOBSINK_RECEIVER_BODY_BUDGET_BYTES", "limits.body_budget_bytes", "2097152", 2097152),
    ("JOBSINK_RECEIVER_RETRY_AFTER_SECONDS", "limits.retry_after_seconds", "4", 4),
    ("JOBSINK_RECEIVER_MAX_BATCH_EVENTS", "limits.max_batch_events", "10", 10),
    ("JOBSINK_RECEIVER_KUBECONFIG", "kube.kubeconfig", "/k/config", Path("/k/config")),
    ("JOBSINK_RECEIVER_KUBE_QPS", "kube.qps", "50", 50.0),
    ("JOBSINK_RECEIVER_KUBE_BURST", "kube.burst", "20", 20),
    ("JOBSINK_RECEIVER_INDEX_MAX_ENTRIES", "index.max_entries", "1000", 1000),
    ("JOBSINK_RECEIVER_SWEEP_INTERVAL_SECONDS", "sweeper.interval_seconds", "0", 0.0),
    ("JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS", "sweeper.grace_seconds", "60", 60.0),
    (
        "JOBSINK_RECEIVER_DEFAULT_AUTHORIZATION_MODE",
        "authorization.default_mode",
        "deny-all",
        "deny-all",
    ),
    ("JOBSINK_RECEIVER_EVENT_POLICIES", "authorization.event_policies", "false", False),
    ("JOBSINK_RECEIVER_STATUS_RECONCILER", "status.enabled", "false", False),
    ("JOBSINK_RECEIVER_SYSTEM_NAMESPACE", "status.system_namespace", "sys", "sys"),
    ("JOBSINK_RECEIVER_SERVICE_NAME", "status.service_name", "rx", "rx"),
    ("JOBSINK_RECEIVER_CLUSTER_DOMAIN", "status.cluster_domain", "c.example", "c.example"),
    ("JOBSINK_RECEIVER_PUBLIC_URL", "status.public_url", "http://h", "http://h"),
    ("JOBSINK_RECEIVER_PUBLIC_HTTPS_URL", "status.public_https_url", "https://h", "https://h"),
    ("JOBSINK_RECEIVER_LEASE_NAME", "status.lease.name", "l", "l"),
    ("JOBSINK_RECEIVER_LEASE_NAMESPACE", "status.lease.namespace", "ns", "ns"),
    ("JOBSINK_RECEIVER_LEASE_DURATION_SECONDS", "status.lease.duration_seconds", "30", 30.0),
    ("JOBSINK_RECEIVER_LEASE_RENEW_SECONDS", "status.lease.renew_seconds", "1", 1.0),
    ("JOBSINK_RECEIVER_AUTHENTICATION_OIDC", "authentication.enabled", "enabled", True),
    ("JOBSINK_RECEIVER_OIDC_DISCOVERY_BASE_URL", "authentication.discovery_base_url",
     "https://issuer.example", "https://issuer.example"),
    ("JOBSINK_RECEIVER_OIDC_DISCOVERY_CA_FILE", "authentication.discovery_ca_file", "/ca.crt",
     Path("/ca.crt")),
    ("JOBSINK_RECEIVER_OIDC_CLOCK_SKEW_SECONDS", "authentication.clock_skew_seconds", "5", 5.0),
    ("JOBSINK_RECEIVER_OIDC_REFETCH_SECONDS", "authentication.refetch_seconds", "2", 2.0),
    ("JOBSINK_RECEIVER_OIDC_KEYS_MAX_AGE_SECONDS", "authentication.keys_max_age_seconds", "60",
     60.0),
    ("JOBSINK_RECEIVER_OIDC_MAX_TOKEN_BYTES", "authentication.max_token_bytes", "8192", 8192),
    ("JOBSINK_RECEIVER_OIDC_VERIFIED_TOKENS", "authentication.verified_tokens", "0", 0),
    ("JOBSINK_RECEIVER_KNATIVE_FEATURES", "knative.features", "config-features",
     "config-features"),
]  # fmt: skip
# Variables that are taken only together with others: what each needs beside it.
NEEDS = {"JOBSINK_RECEIVER_KNATIVE_FEATURES": {"JOBSINK_RECEIVER_STATUS_RECONCILER": "false"}}
# Only together: one without the others is refused.
PAIRED = {
    "JOBSINK_RECEIVER_TLS_CERT": "server.tls.cert",
    "JOBSINK_RECEIVER_TLS_KEY": "server.tls.key",
    "JOBSINK_RECEIVER_TLS_CA": "server.tls.ca",
}


def value_at(settings: BaseModel, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= leaf_paths(annotation, f"{prefix}{name}.")
        else:
            paths.add(prefix + name)
    return paths


@pytest.mark.parametrize(
    ("variable", "path", "raw", "expected"), VARIABLES, ids=[v[0] for v in VARIABLES]
)
def test_each_setting_reads_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, path: str, raw: str, expected: Any
) -> None:
    monkeypatch.setenv(variable, raw)
    for needed, value in NEEDS.get(variable, {}).items():
        monkeypatch.setenv(needed, value)
    assert value_at(Settings(), path) == expected


def test_the_tls_pair_reads_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in PAIRED:
        monkeypatch.setenv(variable, f"/tls/{variable.lower()}")
    settings = Settings()
    assert [value_at(settings, path) for path in PAIRED.values()] == [
        Path(f"/tls/{variable.lower()}") for variable in PAIRED
    ]


def test_every_setting_has_a_variable_listed_here() -> None:
    listed = {path for _, path, _, _ in VARIABLES} | set(PAIRED.values())
    assert listed == leaf_paths(Settings)


def test_the_downward_api_namespace_is_read_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEM_NAMESPACE", "from-downward-api")
    assert Settings().status.system_namespace == "from-downward-api"


@pytest.mark.parametrize("variable", ["KUBECONFIG", "ENABLED", "PORT", "NAME", "QPS"])
def test_unprefixed_variables_of_other_programs_are_not_read(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    defaults = Settings().model_dump()
    monkeypatch.setenv(variable, "1")
    assert Settings().model_dump() == defaults


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: TlsSettings(cert=Path("/c")),
            "tls cert and key go together",
            id="tls-cert-without-key",
        ),
        pytest.param(
            lambda: TlsSettings(ca=Path("/ca")),
            "self-managed certificates publish their own CA",
            id="tls-ca-without-files",
        ),
        pytest.param(
            lambda: TlsSettings(serving_lifetime_seconds=7200, ca_lifetime_seconds=3600),
            r"serving_lifetime_seconds \(7200\) must not exceed ca_lifetime_seconds \(3600\)",
            id="serving-outlives-ca",
        ),
        pytest.param(
            lambda: TlsSettings(min_version="1.1"),  # type: ignore[arg-type]
            "'1.2' or '1.3'",
            id="tls-below-1.2",
        ),
        pytest.param(
            lambda: ServerSettings(transport_encryption="on"),  # type: ignore[arg-type]
            "'disabled', 'permissive' or 'strict'",
            id="unknown-transport-mode",
        ),
        pytest.param(
            lambda: LeaseSettings(duration_seconds=15, renew_seconds=15),
            r"renew_seconds \(15\) must be shorter than duration_seconds \(15\)",
            id="renew-equal-to-duration",
        ),
        pytest.param(
            lambda: LeaseSettings(duration_seconds=5, renew_seconds=10),
            "must be shorter",
            id="renew-longer",
        ),
        pytest.param(lambda: LeaseSettings(renew_seconds=0), "greater than 0", id="renew-zero"),
        pytest.param(
            lambda: ServerSettings(prot=8080),  # type: ignore[call-arg]
            "Extra inputs",
            id="misspelt-setting",
        ),
        pytest.param(lambda: Settings(port=8080), "Extra inputs", id="setting-outside-group"),
        pytest.param(
            lambda: LimitSettings(body_budget_bytes=MAX_EVENT_BYTES - 1),
            "greater than or equal to 1048576",
            id="body-budget-below-one-event",
        ),
        pytest.param(
            lambda: Settings(sweeper=SweeperSettings(grace_seconds=15)),
            r"SWEEP_GRACE_SECONDS=15\) must be at least .*REQUEST_TIMEOUT=20\) plus 5 s",
            id="sweep-grace-shorter-than-a-delivery",
        ),
        pytest.param(
            lambda: Settings(
                limits=LimitSettings(request_timeout=60),
                sweeper=SweeperSettings(grace_seconds=64.9),
            ),
            "must be at least",
            id="sweep-grace-within-the-margin",
        ),
        pytest.param(
            lambda: Settings(knative=KnativeSettings(features="config-features")),
            r"KNATIVE_FEATURES=config-features\) are followed only where Knative's controller "
            "writes JobSink status: set JOBSINK_RECEIVER_STATUS_RECONCILER=false",
            id="knative-features-with-our-status-writer",
        ),
    ],
)
def test_bad_settings_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make()


@pytest.mark.parametrize(
    ("interval", "grace", "request_timeout"),
    [
        pytest.param(60.0, 25.0, 20.0, id="grace-at-deadline-plus-margin"),
        pytest.param(0.0, 1.0, 20.0, id="no-sweeper-no-grace-needed"),
        pytest.param(60.0, 300.0, 20.0, id="defaults"),
    ],
)
def test_sweep_grace_that_outlasts_a_delivery_is_taken(
    interval: float, grace: float, request_timeout: float
) -> None:
    settings = Settings(
        limits=LimitSettings(request_timeout=request_timeout),
        sweeper=SweeperSettings(interval_seconds=interval, grace_seconds=grace),
    )
    assert settings.sweeper.grace_seconds == grace


def test_sweep_grace_is_checked_against_the_variables_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS", "30")
    monkeypatch.setenv("JOBSINK_RECEIVER_REQUEST_TIMEOUT", "26")
    with pytest.raises(ValidationError, match="REQUEST_TIMEOUT=26"):
        Settings()


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [("enabled", True), ("disabled", False), ("Enabled", True), ("true", True), ("0", False)],
)
def test_authentication_reads_knatives_words_and_booleans(
    monkeypatch: pytest.MonkeyPatch, raw: str, enabled: bool
) -> None:
    monkeypatch.setenv("JOBSINK_RECEIVER_AUTHENTICATION_OIDC", raw)
    assert Settings().authentication.enabled is enabled


def test_authentication_is_off_by_default() -> None:
    assert Settings().authentication.enabled is False
