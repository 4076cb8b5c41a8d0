"""The addresses a JobSink's status publishes: the listeners' mode, the bases, the CA."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobsink.lifecycle import Addressing, desired_status, status_patch
from receiver.controller.addressing import addressing_from, with_audiences
from receiver.settings import ServerSettings, StatusSettings

KEY = ("default", "job-sink-logger")
URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"
HTTPS_URL = URL.replace("http:", "https:")
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("status", "server", "primary", "listed"),
    [
        pytest.param(StatusSettings(), None, URL, [URL], id="no-listeners-given"),
        pytest.param(StatusSettings(), ServerSettings(), URL, [URL], id="disabled-by-default"),
        pytest.param(
            StatusSettings(),
            ServerSettings(transport_encryption="permissive"),
            URL,
            [HTTPS_URL, URL],
            id="permissive-keeps-http-primary",
        ),
        pytest.param(
            StatusSettings(),
            ServerSettings(transport_encryption="strict"),
            HTTPS_URL,
            [HTTPS_URL],
            id="strict-https-only",
        ),
        pytest.param(
            StatusSettings(public_https_url="https://127.0.0.1:8443"),
            ServerSettings(transport_encryption="strict"),
            "https://127.0.0.1:8443/default/job-sink-logger",
            ["https://127.0.0.1:8443/default/job-sink-logger"],
            id="public-https-url",
        ),
        pytest.param(
            StatusSettings(public_url="http://127.0.0.1:8080"),
            None,
            "http://127.0.0.1:8080/default/job-sink-logger",
            ["http://127.0.0.1:8080/default/job-sink-logger"],
            id="public-url",
        ),
        pytest.param(
            StatusSettings(system_namespace="eventing", service_name="rx"),
            None,
            "http://rx.eventing.svc.cluster.local/default/job-sink-logger",
            ["http://rx.eventing.svc.cluster.local/default/job-sink-logger"],
            id="service-and-namespace",
        ),
    ],
)
def test_addressing_follows_the_transport_mode(
    status: StatusSettings, server: ServerSettings | None, primary: str, listed: list[str]
) -> None:
    addressing = addressing_from(status, server)
    assert addressing.primary(*KEY)["url"] == primary
    assert [address["url"] for address in addressing.addresses(*KEY)] == listed


@pytest.mark.parametrize("mode", ["permissive", "strict"])
def test_ca_certs_go_with_the_https_address_only(mode: str) -> None:
    server = ServerSettings(transport_encryption=mode)  # type: ignore[arg-type]
    addressing = addressing_from(StatusSettings(), server, CA)
    assert addressing == Addressing.for_service(mode=mode, ca_certs=CA)  # type: ignore[arg-type]
    by_name = {address["name"]: address for address in addressing.addresses(*KEY)}
    assert by_name["https"]["CACerts"] == CA
    assert "CACerts" not in by_name.get("http", {})


AUDIENCE = "sinks.knative.dev/jobsink/default/job-sink-logger"


@pytest.mark.parametrize("mode", ["disabled", "permissive", "strict"])
def test_with_authentication_every_address_carries_the_sinks_audience(mode: str) -> None:
    server = ServerSettings(transport_encryption=mode)  # type: ignore[arg-type]
    addressing = with_audiences(addressing_from(StatusSettings(), server, CA))
    addresses = addressing.addresses(*KEY)
    assert addresses
    assert all(address["audience"] == AUDIENCE for address in addresses)
    assert addressing.primary(*KEY)["audience"] == AUDIENCE
    plain = addressing_from(StatusSettings(), server, CA)
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
