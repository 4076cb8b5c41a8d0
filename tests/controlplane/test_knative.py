"""Knative Eventing's install documents and images for the local node (no cluster needed)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane.knative.binaries import (
    BUILD_SCRIPT,
    COMMANDS,
    CONFIG_DIRECTORIES,
    KNATIVE_VERSION,
    KnativeFiles,
    binary_name,
)
from controlplane.knative.images import ensure_image_archive, image_reference, ko_reference
from controlplane.knative.manifests import (
    SKIPPED_FILES,
    SourceDocument,
    aggregate_cluster_roles,
    built_references,
    generated_config_maps,
    install_plan,
    load_config,
    not_built_reference,
    substitute_images,
)
from controlplane.node.oci import IMAGE_NAME_ANNOTATION


@pytest.mark.parametrize(
    ("command", "file_name", "reference"),
    [
        ("controller", "controller", "localhost/jobsink/knative-controller:v0.50.0"),
        (
            "in_memory/channel_dispatcher",
            "in_memory-channel_dispatcher",
            "localhost/jobsink/knative-in_memory-channel_dispatcher:v0.50.0",
        ),
        ("broker/filter", "broker-filter", "localhost/jobsink/knative-broker-filter:v0.50.0"),
    ],
)
def test_each_command_has_one_file_name_and_one_image(
    command: str, file_name: str, reference: str
) -> None:
    assert binary_name(command) == file_name
    assert image_reference(command) == reference


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ko://knative.dev/eventing/cmd/webhook", image_reference("webhook")),
        (
            "ko://knative.dev/eventing/cmd/broker/ingress",
            image_reference("broker/ingress"),
        ),
        (
            "ko://knative.dev/eventing/cmd/apiserver_receive_adapter",
            "localhost/jobsink/knative-not-built-apiserver_receive_adapter:v0.50.0",
        ),
        ("docker.io/library/bash:5", "docker.io/library/bash:5"),
        ({"env": [{"value": "ko://knative.dev/eventing/cmd/mtping"}]}, None),
        (3, 3),
    ],
)
def test_ko_references_become_local_images(value: Any, expected: Any) -> None:
    result = substitute_images(value, built_references())
    if isinstance(value, dict):
        assert result == {"env": [{"value": image_reference("mtping")}]}
    else:
        assert result == expected


def test_every_built_command_has_a_ko_reference() -> None:
    assert set(built_references()) == {ko_reference(command) for command in COMMANDS}


def _deployment(env: list[dict[str, Any]], namespace: str = "knative-eventing") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "eventing-controller", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "env": env}]}}},
    }


def _key_ref(config_map: str, key: str) -> dict[str, Any]:
    return {"name": key.upper(), "valueFrom": {"configMapKeyRef": {"name": config_map, "key": key}}}


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        pytest.param([_deployment([{"name": "A", "value": "x"}])], [], id="no key refs"),
        pytest.param(
            [_deployment([_key_ref("images", "timer-source"), _key_ref("images", "log-sink")])],
            [
                (
                    "images",
                    {
                        "log-sink": not_built_reference("log-sink"),
                        "timer-source": not_built_reference("timer-source"),
                    },
                )
            ],
            id="one generated ConfigMap with both keys",
        ),
        pytest.param(
            [
                _deployment([_key_ref("config-logging", "zap")]),
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "config-logging", "namespace": "knative-eventing"},
                },
            ],
            [],
            id="a ConfigMap the module defines is not generated",
        ),
    ],
)
def test_config_maps_a_release_generates_are_made(
    documents: list[dict[str, Any]], expected: list[tuple[str, dict[str, str]]]
) -> None:
    made = generated_config_maps(documents)
    assert [(doc["metadata"]["name"], doc["data"]) for doc in made] == expected
    assert all(doc["metadata"]["namespace"] == "knative-eventing" for doc in made)


def _write_config(root: Path) -> None:
    for directory in CONFIG_DIRECTORIES:
        (root / directory / "deployments").mkdir(parents=True)
    core = root / "core"
    (core / "100-namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: knative-eventing}\n"
    )
    (core / "deployments" / "webhook.yaml").write_text(
        yaml.safe_dump_all(
            [
                None,
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "eventing-webhook", "namespace": "knative-eventing"},
                    "spec": {
                        "template": {
                            "spec": {
                                "containers": [{"name": "w", "image": ko_reference("webhook")}]
                            }
                        }
                    },
                },
            ]
        )
    )
    (core / "deployments" / "request-reply.yaml").write_text("kind: Deployment\n")
    (core / "jobsink-crd.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: jobsinks.sinks.knative.dev}\n"
    )


def test_the_plan_applies_namespaces_and_crds_first_and_skips_the_listed_files(
    tmp_path: Path,
) -> None:
    _write_config(tmp_path)
    sources = load_config(tmp_path)
    assert [(s.directory, s.path) for s in sources] == [
        ("core", "100-namespace.yaml"),
        ("core", "deployments/webhook.yaml"),
        ("core", "jobsink-crd.yaml"),
    ]
    assert ("core", "deployments/request-reply.yaml") in SKIPPED_FILES
    plan = install_plan(sources)
    assert [doc["kind"] for doc in plan.first] == ["Namespace", "CustomResourceDefinition"]
    assert [doc["metadata"]["name"] for doc in plan.crds] == ["jobsinks.sinks.knative.dev"]
    (webhook,) = plan.deployments
    container = webhook["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image_reference("webhook")


def test_the_plan_leaves_its_sources_unchanged() -> None:
    document = {"kind": "Deployment", "metadata": {"name": "d"}, "image": ko_reference("webhook")}
    install_plan([SourceDocument("core", "d.yaml", document)])
    assert document["image"] == ko_reference("webhook")


def test_an_image_is_the_binary_alone_started_as_ko_starts_it(tmp_path: Path) -> None:
    files = KnativeFiles(tmp_path)
    binary = files.binary("broker/ingress")
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF static")
    archive = ensure_image_archive(files, "broker/ingress")
    with tarfile.open(archive) as tar:
        blobs = {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
    index = json.loads(blobs["index.json"])
    (manifest_descriptor,) = index["manifests"]
    assert manifest_descriptor["annotations"][IMAGE_NAME_ANNOTATION] == image_reference(
        "broker/ingress"
    )
    manifest = json.loads(blobs["blobs/sha256/" + manifest_descriptor["digest"][7:]])
    config = json.loads(blobs["blobs/sha256/" + manifest["config"]["digest"][7:]])["config"]
    assert config["Entrypoint"] == ["/ko-app/ingress"]
    assert config["User"] == "65532"
    assert "KO_DATA_PATH=/var/run/ko" in config["Env"]
    layer = blobs["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["ko-app/ingress"].mode == 0o755
    assert set(members) == {"ko-app", "ko-app/ingress", "var", "var/run", "var/run/ko"}
    # Cached: a second call reuses the archive.
    assert ensure_image_archive(files, "broker/ingress").stat().st_mtime == archive.stat().st_mtime


def _role(name: str, labels: dict[str, str], resources: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": [{"apiGroups": ["x"], "resources": [r], "verbs": ["list"]} for r in resources],
    }


def test_aggregated_cluster_roles_get_the_rules_of_the_roles_they_select() -> None:
    aggregated = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "channelable-manipulator"},
        "aggregationRule": {
            "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/channelable": "true"}}]
        },
    }
    imc = _role("imc-channelable", {"duck.knative.dev/channelable": "true"}, ["imcs", "imcs"])
    other = _role("other", {"duck.knative.dev/addressable": "true"}, ["brokers"])
    result = aggregate_cluster_roles([aggregated, imc, other])
    assert result[1:] == [imc, other]
    assert result[0]["aggregationRule"] == aggregated["aggregationRule"]
    assert [rule["resources"] for rule in result[0]["rules"]] == [["imcs"]]
    assert "rules" not in aggregated  # the input is left as it was


def test_the_build_script_builds_the_version_and_commands_python_expects() -> None:
    script = BUILD_SCRIPT.read_text()
    assert f"KNATIVE_VERSION={KNATIVE_VERSION}\n" in script
    match = re.search(r"KNATIVE_COMMANDS=\(\n(.*?)\n\)", script, re.DOTALL)
    assert match is not None
    assert tuple(match.group(1).split()) == COMMANDS
