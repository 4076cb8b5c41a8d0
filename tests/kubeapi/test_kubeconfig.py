"""Our kubeconfig and in-cluster reader, rule by rule (``kubeapi.kubeconfig``); and, for a real
kubeconfig with a client certificate, that it reaches the same apiserver settings as the official
client's loader."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from kubeapi.kubeconfig import KubeconfigError, Unsupported, endpoint_of, in_cluster
from kubeapi.transport import Endpoint

HERE = Path("/etc/kube")
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
B64 = base64.b64encode(PEM).decode()


def config(cluster: dict[str, Any], user: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://10.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        **top,
    }


SERVER = "https://10.0.0.1:6443"

READ = [
    ("token", config({}, {"token": "t0k"}), Endpoint(SERVER, token="t0k")),
    ("CA file, relative to the kubeconfig",
     config({"certificate-authority": "ca.crt"}, {}),
     Endpoint(SERVER, ca_file="/etc/kube/ca.crt")),
    ("CA file, absolute", config({"certificate-authority": "/ca.pem"}, {}),
     Endpoint(SERVER, ca_file="/ca.pem")),
    ("CA data wins over a CA file",
     config({"certificate-authority": "ca.crt", "certificate-authority-data": B64}, {}),
     Endpoint(SERVER, ca_data=PEM.decode())),
    ("client certificate data", config({}, {"client-certificate-data": B64,
                                            "client-key-data": B64}),
     Endpoint(SERVER, cert_data=PEM, key_data=PEM)),
    ("client certificate files", config({}, {"client-certificate": "c.crt",
                                             "client-key": "/k.key"}),
     Endpoint(SERVER, cert_file="/etc/kube/c.crt", key_file="/k.key")),
    ("token file", config({}, {"tokenFile": "token"}),
     Endpoint(SERVER, token_file="/etc/kube/token")),
    ("insecure, with a server name",
     config({"insecure-skip-tls-verify": True, "tls-server-name": "api"}, {}),
     Endpoint(SERVER, insecure=True, tls_server_name="api")),
    ("a user the context does not find has no credentials",
     {**config({}, {}), "users": []}, Endpoint(SERVER)),
]  # fmt: skip


@pytest.mark.parametrize(("document", "expected"), [r[1:] for r in READ], ids=[r[0] for r in READ])
def test_reads(document: dict[str, Any], expected: Endpoint) -> None:
    assert endpoint_of([(document, HERE)]) == expected


def test_a_named_context_wins_over_the_current_one() -> None:
    document = config({}, {"token": "a"})
    document["contexts"].append({"name": "other", "context": {"cluster": "k", "user": "v"}})
    document["users"].append({"name": "v", "user": {"token": "b"}})
    assert endpoint_of([(document, HERE)], "other").token == "b"


def test_files_merge_the_first_definition_winning() -> None:
    first = {"current-context": "c", "users": [{"name": "u", "user": {"token": "first"}}]}
    second = config({}, {"token": "second"}, **{"current-context": "elsewhere"})
    found = endpoint_of([(first, Path("/a")), (second, Path("/b"))])
    assert (found.server, found.token) == (SERVER, "first")


UNSUPPORTED = [
    ("exec plugin", config({}, {"exec": {"command": "aws"}})),
    ("auth-provider plugin", config({}, {"auth-provider": {"name": "oidc"}})),
    ("basic auth", config({}, {"username": "a", "password": "b"})),
]


@pytest.mark.parametrize("document", [r[1] for r in UNSUPPORTED], ids=[r[0] for r in UNSUPPORTED])
def test_what_only_the_official_loader_does_is_unsupported(document: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        endpoint_of([(document, HERE)])


BROKEN = [
    ("no current context", {**config({}, {}), "current-context": ""}, "no current-context"),
    ("unknown context", {**config({}, {}), "current-context": "x"}, "context 'x' not found"),
    ("unknown cluster", {**config({}, {}), "clusters": []}, "cluster 'k' not found"),
    ("no server", config({"server": ""}, {}), "server is missing"),
    ("a proxy", config({"proxy-url": "http://proxy:3128"}, {}), "proxy-url is not supported"),
    ("CA data not base64", config({"certificate-authority-data": "%%%"}, {}),
     "certificate-authority-data: not base64"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "message"), [r[1:] for r in BROKEN], ids=[r[0] for r in BROKEN]
)
def test_a_broken_kubeconfig_says_what_is_wrong(document: dict[str, Any], message: str) -> None:
    with pytest.raises(KubeconfigError, match=message):
        endpoint_of([(document, HERE)])


IN_CLUSTER = [
    ("IPv4", {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"},
     "https://10.96.0.1:443"),
    ("IPv6", {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"},
     "https://[fd00::1]:443"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("env", "server"), [r[1:] for r in IN_CLUSTER], ids=[r[0] for r in IN_CLUSTER]
)
def test_in_cluster(env: dict[str, str], server: str) -> None:
    root = Path("/sa")
    assert in_cluster(env, root) == Endpoint(server, ca_file="/sa/ca.crt", token_file="/sa/token")


def test_in_cluster_needs_the_service_variables() -> None:
    with pytest.raises(KubeconfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster({})
