"""The addresses a JobSink's status publishes: from the listeners, or as the settings say."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobsink.lifecycle import Addressing, desired_status, status_patch
from receiver.controller.addressing import addressing_from, with_audiences
from receiver.settings import ServerSettings, StatusSettings

KEY = ("default", "job-sink-logger")
URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"


def tls(http_port: int | None = None) -> ServerSettings:
    return ServerSettings(tls_cert=Path("/tls.crt"), tls_key=Path("/tls.key"), http_port=http_port)


@pytest.mark.parametrize(
    ("status", "server", "mode", "primary_url"),
    [
        pytest.param(StatusSettings(), None, "disabled", URL, id="no-listeners-given"),
        pytest.param(StatusSettings(), ServerSettings(), "disabled", URL, id="plain-http"),
        pytest.param(
            StatusSettings(),
            tls(),
            "strict",
            URL.replace("http:", "https:"),
            id="tls-only-strict",
        ),
        pytest.param(
            StatusSettings(),
            tls(8080),
            "permissive",
            URL,
            id="tls-and-http-permissive",
        ),
        pytest.param(
            StatusSettings(transport_encryption="strict"),
            ServerSettings(),
            "strict",
            URL.replace("http:", "https:"),
            id="explicit-strict",
        ),
        pytest.param(
            StatusSettings(transport_encryption="disabled"),
            tls(),
            "disabled",
            URL,
            id="explicit-disabled",
        ),
        pytest.param(
            StatusSettings(public_url="http://127.0.0.1:8080"),
            None,
            "disabled",
            "http://127.0.0.1:8080/default/job-sink-logger",
            id="public-url",
        ),
        pytest.param(
            StatusSettings(system_namespace="eventing", service_name="rx"),
            None,
            "disabled",
            "http://rx.eventing.svc.cluster.local/default/job-sink-logger",
            id="service-and-namespace",
        ),
    ],
)
def test_addressing_from_settings(
    status: StatusSettings, server: ServerSettings | None, mode: str, primary_url: str
) -> None:
    addressing = addressing_from(status, server)
    assert addressing.mode == mode
    assert addressing.primary(*KEY)["url"] == primary_url


def test_ca_file_becomes_cacerts(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    addressing = addressing_from(StatusSettings(ca_file=ca), tls(80))
    assert addressing == Addressing.for_service(mode="permissive", ca_certs=ca.read_text())
    assert addressing.addresses(*KEY)[0]["CACerts"] == ca.read_text()


def test_unreadable_ca_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.crt"
    with pytest.raises(OSError, match=r"missing-ca\.crt") as raised:
        addressing_from(StatusSettings(ca_file=missing))
    assert raised.value.filename == str(missing)


AUDIENCE = "sinks.knative.dev/jobsink/default/job-sink-logger"


@pytest.mark.parametrize("mode", ["disabled", "permissive", "strict"])
def test_with_authentication_every_address_carries_the_sinks_audience(mode: str) -> None:
    settings = StatusSettings(transport_encryption=mode)  # type: ignore[arg-type]
    addressing = with_audiences(addressing_from(settings))
    addresses = addressing.addresses(*KEY)
    assert addresses
    assert all(address["audience"] == AUDIENCE for address in addresses)
    assert addressing.primary(*KEY)["audience"] == AUDIENCE
    plain = addressing_from(settings)
    assert [{**a, "audience": AUDIENCE} for a in plain.addresses(*KEY)] == addresses


def test_the_audience_is_lowercased_as_knative_does() -> None:
    addressing = with_audiences(addressing_from(StatusSettings()))
    assert (
        addressing.primary("Team-A", "Sink")["audience"] == "sinks.knative.dev/jobsink/team-a/sink"
    )


def test_turning_authentication_off_clears_the_published_audience() -> None:
    now = datetime.now(UTC)
    sink = {"metadata": {"namespace": KEY[0], "name": KEY[1], "generation": 1}, "spec": {"job": {}}}
    on = desired_status(sink, with_audiences(addressing_from(StatusSettings())), now)
    patch = status_patch({**sink, "status": on}, addressing_from(StatusSettings()), now)
    assert patch["address"] == {"audience": None}
    assert all("audience" not in address for address in patch["addresses"])
