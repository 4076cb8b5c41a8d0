"""The pure parts of the node's Services: addresses, kube-proxy's and CoreDNS's configuration,
the registry's paths and the run's packet-filter rules."""

from __future__ import annotations

import ipaddress
import threading
import time
from pathlib import Path

import pytest
import yaml

from controlplane import flags
from controlplane.errors import ControlPlaneError
from controlplane.node.addresses import (
    DNS_SERVICE_IP,
    KUBERNETES_SERVICE_IP,
    SERVICE_RANGE,
    gateway,
    gateway_interface,
)
from controlplane.node.coredns import COREDNS_IMAGE, COREFILE, coredns_objects
from controlplane.node.firewall import (
    Guard,
    ServiceNetworkLock,
    chain_prefix,
    guard_rules,
    removal_commands,
    rule_lines,
)
from controlplane.node.images import CURL_IMAGE, DebianImage, cache_key, imported_names
from controlplane.node.kube_proxy import KubeProxySettings, kube_proxy_configuration
from controlplane.node.publish import pulled_on_every_start
from controlplane.node.registry import RegistrySettings, registry_configuration, repository_path
from controlplane.node.service_network import ServiceNetwork, services_wanted, wait_seconds
from controlplane.node.teardown import NodeRecord

POD_RANGE = ipaddress.IPv4Network("10.244.0.0/24")
GUARD = Guard("0123456789ab", "jsk-01234567", SERVICE_RANGE, 6443)


def test_the_service_addresses_are_the_control_planes_and_kubeadms() -> None:
    assert str(SERVICE_RANGE) == flags.SERVICE_CLUSTER_IP_RANGE
    assert (KUBERNETES_SERVICE_IP, DNS_SERVICE_IP) == ("10.0.0.1", "10.0.0.10")
    assert str(gateway(POD_RANGE)) == "10.244.0.1"
    assert str(gateway_interface(POD_RANGE)) == "10.244.0.1/24"


# -- kube-proxy ----------------------------------------------------------------------------


def test_kube_proxy_routes_services_without_touching_machine_wide_settings() -> None:
    config = kube_proxy_configuration(
        KubeProxySettings(
            kubeconfig=Path("/run/kp.kubeconfig"),
            pod_range=POD_RANGE,
            node_address=gateway(POD_RANGE),
            node_name="localhost",
            healthz_port=10256,
            metrics_port=10249,
        )
    )
    assert (config["mode"], config["clusterCIDR"]) == ("iptables", "10.244.0.0/24")
    assert config["iptables"]["masqueradeAll"] is True
    # Zero: leave the machine's conntrack table sizes and timeouts alone.
    assert set(config["conntrack"].values()) <= {0, "0s"}
    assert config["oomScoreAdj"] == 0
    # NodePorts on the bridge's address only: never on an interface that reaches outside,
    # and no route_localnet.
    assert config["nodePortAddresses"] == ["10.244.0.1/32"]
    assert config["healthzBindAddress"].startswith("127.0.0.1:")
    assert config["metricsBindAddress"].startswith("127.0.0.1:")


# -- CoreDNS -------------------------------------------------------------------------------


def test_the_corefile_serves_the_cluster_domain_and_forwards_nothing() -> None:
    assert "forward" not in COREFILE
    assert COREFILE.startswith("cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {")
    for plugin in ("kubernetes cluster.local", "health", "ready", "prometheus :9153"):
        assert plugin in COREFILE


def test_the_cluster_dns_objects_are_upstreams_with_a_fixed_service_address() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in coredns_objects()}
    service = objects[("Service", "kube-dns")]
    assert service["metadata"]["namespace"] == "kube-system"
    assert service["spec"]["clusterIP"] == DNS_SERVICE_IP
    assert {p["port"] for p in service["spec"]["ports"]} == {53, 9153}
    pod = objects[("Deployment", "coredns")]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == COREDNS_IMAGE
    assert pod["dnsPolicy"] == "Default"
    rules = objects[("ClusterRole", "system:coredns")]["rules"]
    assert {r for rule in rules for r in rule["resources"]} >= {"endpointslices", "services"}
    # They apply as one multi-document file.
    assert len(list(yaml.safe_load_all(yaml.safe_dump_all(coredns_objects())))) == len(objects)


# -- the registry --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("docker.io/library/bash:5", "library/bash:5"),
        ("docker.io/curlimages/curl:latest", "curlimages/curl:latest"),
        ("curlimages/curl", "curlimages/curl:latest"),
        ("bash:5", "library/bash:5"),
        ("localhost/jobsink/pause:3.10.2", "jobsink/pause:3.10.2"),
        ("127.0.0.1:5000/team/app:v1", "team/app:v1"),
        ("registry.example/app", "app:latest"),
    ],
)
def test_an_image_is_stored_under_its_path_without_the_registry_host(
    reference: str, path: str
) -> None:
    assert repository_path(reference) == path


def test_the_registry_listens_on_loopback_with_storage_in_the_run() -> None:
    config = registry_configuration(RegistrySettings(5123, Path("/run/node/registry")))
    assert config["http"]["addr"] == "127.0.0.1:5123"
    assert config["storage"]["filesystem"]["rootdirectory"] == "/run/node/registry"
    # No pull-through proxy: the registry never fetches from another host.
    assert "proxy" not in config


def test_the_names_ctr_imported_are_read_from_its_output() -> None:
    output = (
        "unpacking docker.io/library/bash:5 (sha256:abc)...done\n"
        "unpacking localhost/app:1 (sha256:def)...done\n"
    )
    assert imported_names(output) == ["docker.io/library/bash:5", "localhost/app:1"]


def test_the_curl_stand_in_starts_as_curlimages_curl_does() -> None:
    assert CURL_IMAGE.reference == "docker.io/curlimages/curl:latest"
    assert (CURL_IMAGE.entrypoint, CURL_IMAGE.cmd) == (("/entrypoint.sh",), ("curl",))
    assert CURL_IMAGE.account is not None
    assert (CURL_IMAGE.account.uid, CURL_IMAGE.account.home) == (100, "/home/curl_user")


def test_a_plain_images_cache_key_does_not_change_with_the_new_fields() -> None:
    plain = DebianImage("docker.io/library/bash:5", ("bash", "coreutils"), ("bash",))
    # The key bash:5 had before entrypoints, accounts and files existed.
    assert cache_key(plain) == "b35b23b10db0efae"


# -- the packet filter ---------------------------------------------------------------------


def test_the_runs_chains_are_named_after_it_and_fit_iptables_limit() -> None:
    ipv4 = guard_rules(GUARD)["iptables"]
    chains = [line[1:].split()[0] for line in ipv4.splitlines() if line.startswith(":")]
    assert chains == ["JSK-01234567-FWD", "JSK-01234567-OUT", "JSK-01234567-IN"]
    assert all(chain.startswith(chain_prefix("0123456789ab")) for chain in chains)
    assert max(len(chain) for chain in chains) <= 28


@pytest.mark.parametrize(
    ("family", "rule"),
    [
        ("iptables", "-A JSK-01234567-FWD -i jsk-01234567 -o jsk-01234567 -j RETURN"),
        ("iptables", "-A JSK-01234567-FWD -i jsk-01234567 -j DROP"),
        ("iptables", "-A JSK-01234567-FWD -o jsk-01234567 -j DROP"),
        ("iptables", "-A JSK-01234567-OUT -d 10.0.0.0/24 -j REJECT"),
        ("iptables", "-I INPUT 1 -p tcp --dport 6443 -j JSK-01234567-IN"),
        ("iptables", "-A JSK-01234567-IN -i jsk-01234567 -j RETURN"),
        ("ip6tables", "-I INPUT 1 -p tcp --dport 6443 -j JSK-01234567-IN"),
        ("ip6tables", "-A JSK-01234567-IN -j DROP"),
    ],
    ids=[
        "the bridge to itself passes",
        "nothing forwarded off the bridge",
        "nothing forwarded onto the bridge",
        "the Service range never takes the default route",
        "the apiserver port is fenced",
        "the apiserver answers the bridge",
        "IPv6 too",
        "IPv6: loopback only",
    ],
)
def test_the_guard_rules(family: str, rule: str) -> None:
    assert rule in guard_rules(GUARD)[family].splitlines()


SAVED = """\
# Generated by iptables-save v1.8.9 (nf_tables)
*mangle
:PREROUTING ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:JSK-01234567-FWD - [0:0]
-A FORWARD -j JSK-01234567-FWD
-A JSK-01234567-FWD -i jsk-01234567 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:JSK-01234567-IN - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -p tcp -m tcp --dport 6443 -j JSK-01234567-IN
-A INPUT -j KUBE-FIREWALL
-A JSK-01234567-IN -j DROP
COMMIT
"""


@pytest.mark.parametrize(
    ("prefix", "commands"),
    [
        (
            "JSK-01234567-",
            [
                ["-t", "mangle", "-D", "FORWARD", "-j", "JSK-01234567-FWD"],
                ["-t", "filter", "-D", "INPUT", "-p", "tcp", "-m", "tcp", "--dport", "6443",
                 "-j", "JSK-01234567-IN"],
                ["-t", "mangle", "-F", "JSK-01234567-FWD"],
                ["-t", "filter", "-F", "JSK-01234567-IN"],
                ["-t", "mangle", "-X", "JSK-01234567-FWD"],
                ["-t", "filter", "-X", "JSK-01234567-IN"],
            ],
        ),
        (
            "KUBE-",
            [
                ["-t", "filter", "-D", "INPUT", "-j", "KUBE-FIREWALL"],
                ["-t", "filter", "-F", "KUBE-FIREWALL"],
                ["-t", "filter", "-X", "KUBE-FIREWALL"],
            ],
        ),
        ("JSK-99999999-", []),
    ],
    ids=["the run's chains", "what kube-proxy's clean-up leaves", "another run's: nothing"],
)  # fmt: skip
def test_removal_deletes_the_jumps_then_the_chains(prefix: str, commands: list[list[str]]) -> None:
    assert removal_commands(SAVED, prefix) == commands


def test_rule_lines_ignore_the_empty_tables_nf_tables_keeps() -> None:
    empty = "*nat\n:PREROUTING ACCEPT [3:180]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
    assert rule_lines(empty) == []
    assert rule_lines("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n") == ["filter :FORWARD DROP"]
    assert "filter -A INPUT -j KUBE-FIREWALL" in rule_lines(SAVED)


@pytest.mark.parametrize(
    ("requested", "environment", "wanted"),
    [
        (None, {}, None),
        (None, {"JOBSINK_NODE_SERVICES": "0"}, False),
        (None, {"JOBSINK_NODE_SERVICES": "1"}, True),
        (None, {"JOBSINK_NODE_SERVICES": "auto"}, None),
        (False, {"JOBSINK_NODE_SERVICES": "1"}, False),
        (True, {}, True),
    ],
)
def test_services_are_wanted_as_asked_else_as_the_environment_says(
    requested: bool | None, environment: dict[str, str], wanted: bool | None
) -> None:
    assert services_wanted(requested, environment) is wanted


def test_an_unknown_services_setting_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ControlPlaneError, match="JOBSINK_NODE_SERVICES='yes'"):
        services_wanted(None, {"JOBSINK_NODE_SERVICES": "yes"})


@pytest.mark.parametrize(
    ("reference", "pulled"),
    [
        ("docker.io/curlimages/curl:latest", True),
        ("curlimages/curl", True),
        ("docker.io/library/bash:5", False),
        ("localhost/jobsink/coredns:v1.13.1", False),
    ],
)
def test_only_images_pulled_on_every_start_are_left_packed(reference: str, pulled: bool) -> None:
    assert pulled_on_every_start(reference) is pulled


@pytest.mark.parametrize(
    ("environment", "seconds"),
    [({}, 0.0), ({"JOBSINK_NODE_SERVICES_WAIT": ""}, 0.0),
     ({"JOBSINK_NODE_SERVICES_WAIT": "900"}, 900.0), ({"JOBSINK_NODE_SERVICES_WAIT": "1.5"}, 1.5)],
)  # fmt: skip
def test_the_wait_for_the_service_network_is_read_in_seconds(
    environment: dict[str, str], seconds: float
) -> None:
    assert wait_seconds(environment) == seconds


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_bad_wait_is_an_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ControlPlaneError, match=f"JOBSINK_NODE_SERVICES_WAIT='{value}'"):
        wait_seconds({"JOBSINK_NODE_SERVICES_WAIT": value})


def test_a_run_that_insists_waits_for_the_holder_to_release_the_service_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "services.lock"
    holder = ServiceNetworkLock(path)
    assert holder.try_acquire("first run") is None
    network = ServiceNetwork("run", _record(tmp_path), SERVICE_RANGE, True)
    network.lock = ServiceNetworkLock(path)
    monkeypatch.setenv("JOBSINK_NODE_SERVICES_WAIT", "30")
    said: list[str] = []
    releaser = threading.Timer(1.5, holder.release)
    releaser.start()
    try:
        assert network._acquire("second run", said.append) is None
    finally:
        releaser.cancel()
        network.lock.release()
    assert said
    assert "first run" in said[0]


def test_a_run_that_does_not_insist_does_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "services.lock"
    holder = ServiceNetworkLock(path)
    assert holder.try_acquire("first run") is None
    network = ServiceNetwork("run", _record(tmp_path), SERVICE_RANGE, None)
    network.lock = ServiceNetworkLock(path)
    monkeypatch.setenv("JOBSINK_NODE_SERVICES_WAIT", "30")
    began = time.monotonic()
    assert "first run" in (network._acquire("second run", print) or "")
    assert time.monotonic() - began < 1
    holder.release()


def _record(where: Path) -> NodeRecord:
    return NodeRecord(root=str(where), runtime_dir=str(where), cgroup="test", bridge="jsbr-test",
                      network="test")  # fmt: skip
