"""The Pods' network: one Linux bridge per run with a private IPv4 range (pure functions).

Pod traffic must never leave the machine, so the Pods get no default route. Without Services
the bridge has no address on the host either: a Pod reaches the other Pods of its run and its
own loopback, nothing else. With Services (see ``firewall`` and ``kube_proxy``) the run
creates the bridge itself with the range's first address (the gateway) and the Pods get one
route more: the Service range via that gateway, where kube-proxy's rules rewrite it to a Pod
or to the apiserver. The range must not overlap any route of the host, or a Pod address could
shadow a real network.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from typing import Any

from controlplane.errors import ControlPlaneError

CNI_VERSION = "1.0.0"
#: Tried in order when no range is requested; all private (RFC 1918), none Kubernetes' default
#: Service range of this control plane (10.0.0.0/24).
CANDIDATE_RANGES = ("10.244.0.0/24", "10.245.0.0/24", "172.30.244.0/24", "192.168.244.0/24")
POD_CIDR_ENV = "JOBSINK_POD_CIDR"
BRIDGE_PREFIX = "jsk-"
NETWORK_PREFIX = "jobsink-"
#: Linux interface names are at most 15 bytes.
IFNAMSIZ = 15


class NetworkRangeError(ControlPlaneError):
    """The requested Pod range overlaps a route of this host, or is not a private IPv4 range."""


def bridge_name(run_id: str) -> str:
    name = f"{BRIDGE_PREFIX}{run_id[:8]}"
    assert len(name) <= IFNAMSIZ
    return name


def network_name(run_id: str) -> str:
    return f"{NETWORK_PREFIX}{run_id}"


def host_routes(ip_route_json: str) -> list[tuple[ipaddress.IPv4Network, str]]:
    """IPv4 destinations of ``ip -j route show table all``, with the device, default routes
    left out (a default route overlaps every range and says nothing about clashes)."""
    routes = []
    for route in json.loads(ip_route_json or "[]"):
        destination = route.get("dst", "")
        if destination == "default" or ":" in destination:
            continue
        try:
            network = ipaddress.ip_network(destination, strict=False)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network):
            routes.append((network, str(route.get("dev", "?"))))
    return routes


def _clash(
    candidate: ipaddress.IPv4Network, routes: Iterable[tuple[ipaddress.IPv4Network, str]]
) -> str | None:
    for network, device in routes:
        if candidate.overlaps(network):
            return f"{network} (dev {device})"
    return None


def choose_pod_range(
    routes: Sequence[tuple[ipaddress.IPv4Network, str]],
    requested: str | None = None,
    candidates: Sequence[str] = CANDIDATE_RANGES,
) -> ipaddress.IPv4Network:
    """``requested`` if it is private and clashes with no route, else the first free candidate."""
    if requested:
        try:
            network = ipaddress.IPv4Network(requested, strict=True)
        except ValueError as error:
            raise NetworkRangeError(
                f"{POD_CIDR_ENV}={requested!r} is not an IPv4 network ({error})"
            ) from None
        if not network.is_private or network.is_loopback or network.prefixlen > 28:
            raise NetworkRangeError(
                f"{POD_CIDR_ENV}={requested}: choose a private range (10/8, 172.16/12, "
                "192.168/16) of at least 16 addresses"
            )
        clash = _clash(network, routes)
        if clash:
            raise NetworkRangeError(
                f"the Pod range {network} ({POD_CIDR_ENV}) overlaps this host's route {clash}; "
                f"set {POD_CIDR_ENV} to a private range that no route uses"
            )
        return network
    for candidate in candidates:
        network = ipaddress.IPv4Network(candidate)
        if _clash(network, routes) is None:
            return network
    raise NetworkRangeError(
        f"every default Pod range ({', '.join(candidates)}) overlaps a route of this host; "
        f"set {POD_CIDR_ENV} to a free private range"
    )


def cni_conflist(
    *,
    network: str,
    bridge: str,
    pod_range: ipaddress.IPv4Network,
    ipam_dir: str,
    service_range: ipaddress.IPv4Network | None = None,
) -> dict[str, Any]:
    """The CNI network list containerd hands to the plugins for every Pod sandbox;
    ``service_range``: routed via the gateway (the bridge's host address, which the run sets)."""
    gateway = str(pod_range[1])
    routes = [] if service_range is None else [{"dst": str(service_range), "gw": gateway}]
    return {
        "cniVersion": CNI_VERSION,
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                # No default route in the Pod, and the plugin sets no host address (it would
                # also switch on forwarding for the whole machine): the run sets the gateway
                # on the bridge itself when Pods need one.
                "isGateway": False,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": False,
                "ipam": {
                    "type": "host-local",
                    # The gateway is reserved: no Pod gets the bridge's address.
                    "ranges": [[{"subnet": str(pod_range), "gateway": gateway}]],
                    "routes": routes,
                    # host-local's default is /var/lib/cni/networks, shared with the host.
                    "dataDir": ipam_dir,
                },
            },
            # Only acts for Pods with hostPort mappings (none of the examples has one).
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
