"""The pure parts of the side-by-side benchmark's process handling: /proc's socket table, py-spy's
collapsed stacks, Knative's ConfigMaps and client limits."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bench.knative_receiver import CONFIG_MAPS, SYSTEM_NAMESPACE, ClientLimits, config_maps
from bench.receiver_contenders import parse_contenders
from bench.receiver_process import listening_sockets, pid_listening_on
from bench.receiver_pyspy import top_entries

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1
   1: 0100007F:A0F2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1
   2: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1
"""


def test_listening_sockets_keeps_only_listeners() -> None:
    assert listening_sockets(TCP) == {("0100007F", 8080, 4242), ("00000000", 8443, 4444)}


def test_pid_listening_on_finds_this_process() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert pid_listening_on(server.getsockname()[1]) == os.getpid()


COLLAPSED = """\
main (app.py:1);handle (app.py:5);render (render.py:9) 6
main (app.py:1);handle (app.py:5);send (http.py:3) 3
main (app.py:1) 1
not a stack line
"""


def test_top_entries_counts_self_and_cumulative_shares() -> None:
    lines = top_entries(COLLAPSED, count=2)
    assert lines == [
        "10 samples at 250/s; self:",
        " 60.0% render (render.py:9)",
        " 30.0% send (http.py:3)",
        "cumulative:",
        "100.0% main (app.py:1)",
        " 90.0% handle (app.py:5)",
    ]


def test_top_entries_says_when_there_was_nothing() -> None:
    assert top_entries("")[0].startswith("(no samples")


def test_config_maps_are_the_watched_ones_in_the_system_namespace(tmp_path: Path) -> None:
    documents = [
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: elsewhere\n"
        for name in (*CONFIG_MAPS, "config-leader-election")
    ]
    (tmp_path / "all.yaml").write_text("---\n".join(documents))
    found = config_maps(tmp_path)
    assert sorted(doc["metadata"]["name"] for doc in found) == sorted(CONFIG_MAPS)
    assert {doc["metadata"]["namespace"] for doc in found} == {SYSTEM_NAMESPACE}


def test_config_maps_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: config-features\n")
    with pytest.raises(SystemExit, match="config-logging"):
        config_maps(tmp_path)


@pytest.mark.parametrize(
    ("limits", "environment", "described"),
    [
        (ClientLimits(), {}, "client-go defaults (QPS 5, burst 10)"),
        (
            ClientLimits(qps=1000, burst=2000),
            {"KUBE_API_QPS": "1000", "KUBE_API_BURST": "2000"},
            "KUBE_API_QPS=1000 KUBE_API_BURST=2000",
        ),
    ],
)
def test_client_limits_become_knatives_environment(
    limits: ClientLimits, environment: dict[str, str], described: str
) -> None:
    assert limits.environment() == environment
    assert limits.describe() == described


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ours,knative,knative-defaults", ["ours", "knative", "knative-defaults"]),
        (" ours , knative ", ["ours", "knative"]),
        ("", []),
    ],
)
def test_parse_contenders(text: str, expected: list[str]) -> None:
    assert parse_contenders(text) == expected


def test_parse_contenders_names_the_unknown_one() -> None:
    with pytest.raises(SystemExit, match=r"--contenders: unknown \['kn'\]"):
        parse_contenders("ours,kn")
