"""The Pod range never overlaps a host route, and the CNI list routes nothing off the bridge."""

from __future__ import annotations

import ipaddress
import json

import pytest

from controlplane.node.network import (
    CANDIDATE_RANGES,
    IFNAMSIZ,
    NetworkRangeError,
    bridge_name,
    choose_pod_range,
    cni_conflist,
    host_routes,
)

ROUTES_JSON = json.dumps(
    [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0"},
        {"type": "local", "dst": "127.0.0.0/8", "dev": "lo", "table": "local"},
        {"type": "local", "dst": "192.0.2.2", "dev": "eth0", "table": "local"},
        {"dst": "fd00::/64", "dev": "eth0"},
        {"dst": "10.244.0.0/16", "dev": "docker0"},
    ]
)


def test_host_routes_keep_ipv4_destinations_and_drop_default_routes() -> None:
    assert [(str(net), dev) for net, dev in host_routes(ROUTES_JSON)] == [
        ("192.0.2.0/24", "eth0"),
        ("127.0.0.0/8", "lo"),
        ("192.0.2.2/32", "eth0"),
        ("10.244.0.0/16", "docker0"),
    ]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, "10.245.0.0/24"),  # the first candidate clashes with docker0's route
        ("172.31.7.0/24", "172.31.7.0/24"),
        ("192.168.50.0/26", "192.168.50.0/26"),
    ],
)
def test_a_free_private_range_is_chosen(requested: str | None, expected: str) -> None:
    assert str(choose_pod_range(host_routes(ROUTES_JSON), requested)) == expected


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("10.244.3.0/24", "overlaps this host's route 10.244.0.0/16 (dev docker0)"),
        ("192.0.2.128/25", "overlaps this host's route 192.0.2.0/24 (dev eth0)"),
        ("8.8.8.0/24", "choose a private range"),
        ("10.1.0.0/30", "at least 16 addresses"),
        ("10.1.0.1/24", "is not an IPv4 network"),
        ("fd00:1::/64", "is not an IPv4 network"),
        ("bridge", "JOBSINK_POD_CIDR='bridge' is not an IPv4 network"),
    ],
)
def test_a_requested_range_that_cannot_work_is_refused_by_name(
    requested: str, message: str
) -> None:
    with pytest.raises(NetworkRangeError, match="JOBSINK_POD_CIDR") as raised:
        choose_pod_range(host_routes(ROUTES_JSON), requested)
    assert message in str(raised.value)


def test_when_every_candidate_clashes_the_message_says_what_to_set() -> None:
    routes = [
        (ipaddress.IPv4Network("0.0.0.0/1"), "wide"),
        (ipaddress.IPv4Network("128.0.0.0/1"), "wide"),
    ]
    with pytest.raises(NetworkRangeError, match="set JOBSINK_POD_CIDR to a free private range"):
        choose_pod_range(routes)
    assert len(CANDIDATE_RANGES) > 1


def test_bridge_names_fit_an_interface_name() -> None:
    assert bridge_name("0123456789ab") == "jsk-01234567"
    assert len(bridge_name("f" * 32)) <= IFNAMSIZ


@pytest.mark.parametrize(
    ("service_range", "routes"),
    [
        (None, []),
        ("10.0.0.0/24", [{"dst": "10.0.0.0/24", "gw": "10.245.0.1"}]),
    ],
    ids=["no Services: no route at all", "Services: their range via the gateway, no default"],
)
def test_the_cni_list_gives_pods_no_default_route_and_no_masquerade(
    service_range: str | None, routes: list[dict[str, str]]
) -> None:
    conflist = cni_conflist(
        network="jobsink-abc",
        bridge="jsk-abc",
        pod_range=ipaddress.IPv4Network("10.245.0.0/24"),
        ipam_dir="/work/run/node/cni/ipam",
        service_range=ipaddress.IPv4Network(service_range) if service_range else None,
    )
    bridge, portmap = conflist["plugins"]
    assert conflist["name"] == "jobsink-abc"
    assert (bridge["type"], bridge["bridge"]) == ("bridge", "jsk-abc")
    # isGateway would make the plugin switch on forwarding for the whole machine.
    assert bridge["isGateway"] is False
    assert bridge["isDefaultGateway"] is False
    assert bridge["ipMasq"] is False
    assert bridge["ipam"] == {
        "type": "host-local",
        "ranges": [[{"subnet": "10.245.0.0/24", "gateway": "10.245.0.1"}]],
        "routes": routes,
        "dataDir": "/work/run/node/cni/ipam",
    }
    assert portmap["type"] == "portmap"
