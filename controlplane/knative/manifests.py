"""Knative Eventing's install documents for the local node, from the module's config/ (pure).

What is applied is the module's own YAML with three changes a release makes too, or that the
local node needs:

* every ``ko://knative.dev/eventing/cmd/<command>`` becomes the locally built image of that
  command (see ``images``); a command not built here (the ApiServerSource adapter, the OIDC
  auth proxy: images the controller only puts into Pods it creates for those features) becomes
  a ``localhost/jobsink/knative-not-built-*`` reference, so such a Pod fails to pull with a name
  that says why, instead of the controller failing to start;
* the ConfigMaps of image references a release generates (``eventing-integrations-images``,
  ``eventing-transformations-images``; the controller reads them through ``configMapKeyRef``)
  are made with the same not-built references;
* the ClusterRoles Knative builds by aggregation (``addressable-resolver``,
  ``channelable-manipulator``, ...: an ``aggregationRule`` selecting the ClusterRoles labelled
  ``duck.knative.dev/addressable: "true"`` and so on) get their rules written out: the local
  controller manager runs no ``clusterrole-aggregation-controller``, so without this the
  aggregated roles stay empty and, for one, the broker controller may not list InMemoryChannels;
* files listed in :data:`SKIPPED_FILES` are left out, each for the reason given there.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controlplane.knative.binaries import COMMANDS, CONFIG_DIRECTORIES, KNATIVE_VERSION
from controlplane.knative.images import KO_PREFIX, image_reference, ko_reference

KNATIVE_NAMESPACE = "knative-eventing"
#: Applied, and the CRDs waited for, before everything else.
FIRST_KINDS = ("Namespace", "CustomResourceDefinition")
Document = dict[str, Any]

#: (config directory, path inside it) -> why it is not applied.
SKIPPED_FILES: Mapping[tuple[str, str], str] = {
    ("core", "deployments/request-reply.yaml"): (
        "the RequestReply data plane (cmd/requestreply) is not built: no test here uses it"
    ),
    ("core", "deployments/webhook-hpa.yaml"): (
        "an HorizontalPodAutoscaler and PodDisruptionBudget: the node runs no metrics server "
        "and has one node to spread over; one replica each"
    ),
    ("mt-channel-broker", "deployments/hpa.yaml"): (
        "HorizontalPodAutoscalers of the broker's ingress and filter: no metrics server"
    ),
}


@dataclass(frozen=True)
class SourceDocument:
    """One document of the module's config/, and where it came from."""

    directory: str
    path: str
    document: Document


def load_config(config_root: Path) -> list[SourceDocument]:
    """Every document of the installed config directories, in file order (names sorted), minus
    the skipped files and empty documents."""
    loaded = []
    for directory in CONFIG_DIRECTORIES:
        base = config_root / directory
        for file in sorted(base.rglob("*.yaml")):
            relative = file.relative_to(base).as_posix()
            if (directory, relative) in SKIPPED_FILES:
                continue
            for document in yaml.safe_load_all(file.read_text()):
                if document:
                    loaded.append(SourceDocument(directory, relative, document))
    return loaded


def not_built_reference(original: str) -> str:
    """Where a ``ko://`` reference of a command not built here points."""
    name = original.removeprefix(KO_PREFIX).removeprefix("ko://").replace("/", "-")
    return f"localhost/jobsink/knative-not-built-{name}:{KNATIVE_VERSION}"


def built_references() -> dict[str, str]:
    """``ko://`` reference -> local image, for every command the build script builds."""
    return {ko_reference(command): image_reference(command) for command in COMMANDS}


def substitute_images(value: Any, references: Mapping[str, str]) -> Any:
    """``value`` (a document or any part of one) with every ``ko://`` string replaced."""
    if isinstance(value, dict):
        return {key: substitute_images(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_images(item, references) for item in value]
    if isinstance(value, str) and value.startswith("ko://"):
        return references.get(value) or not_built_reference(value)
    return value


def _config_map_keys(document: Document) -> Iterator[tuple[str, str]]:
    """(ConfigMap name, key) of every ``configMapKeyRef`` in a workload's containers."""
    template = (document.get("spec") or {}).get("template") or {}
    for container in (template.get("spec") or {}).get("containers") or []:
        for variable in container.get("env") or []:
            ref = (variable.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                yield ref["name"], ref["key"]


def generated_config_maps(documents: Iterable[Document]) -> list[Document]:
    """The ConfigMaps the documents read through ``configMapKeyRef`` but do not define: a
    release generates them (image references of optional integrations)."""
    documents = list(documents)
    defined = {
        (doc["metadata"].get("namespace"), doc["metadata"]["name"])
        for doc in documents
        if doc.get("kind") == "ConfigMap"
    }
    wanted: dict[tuple[str, str], dict[str, str]] = {}
    for document in documents:
        namespace = document["metadata"].get("namespace")
        for name, key in _config_map_keys(document):
            if (namespace, name) not in defined:
                wanted.setdefault((namespace, name), {})[key] = not_built_reference(key)
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": dict(sorted(data.items())),
        }
        for (namespace, name), data in sorted(wanted.items())
    ]


def _selected(role: Document, selector: Mapping[str, Any]) -> bool:
    labels = role["metadata"].get("labels") or {}
    wanted = selector.get("matchLabels") or {}
    if selector.get("matchExpressions"):
        raise ValueError(f"matchExpressions in an aggregationRule are not handled: {selector}")
    return all(labels.get(key) == value for key, value in wanted.items())


def aggregate_cluster_roles(documents: Iterable[Document]) -> list[Document]:
    """``documents`` with every aggregated ClusterRole's ``rules`` filled in, as Kubernetes'
    clusterrole-aggregation controller fills them: the rules of every ClusterRole (among
    ``documents``) that one of its selectors matches, in document order, without repeats."""
    documents = list(documents)
    roles = [doc for doc in documents if doc.get("kind") == "ClusterRole"]
    result = []
    for document in documents:
        rule = document.get("aggregationRule") if document.get("kind") == "ClusterRole" else None
        if not rule:
            result.append(document)
            continue
        rules: list[Any] = []
        for role in roles:
            if role is document or role.get("aggregationRule"):
                continue
            if any(_selected(role, s) for s in rule.get("clusterRoleSelectors") or []):
                for granted in role.get("rules") or []:
                    if granted not in rules:
                        rules.append(granted)
        result.append({**document, "rules": rules})
    return result


@dataclass(frozen=True)
class InstallPlan:
    """What to apply, in two steps: ``first`` (Namespaces and CRDs, waited until Established)
    and ``rest`` (everything that lives in those namespaces or uses those kinds)."""

    first: list[Document]
    rest: list[Document]

    @property
    def crds(self) -> list[Document]:
        return [doc for doc in self.first if doc["kind"] == "CustomResourceDefinition"]

    @property
    def deployments(self) -> list[Document]:
        return [doc for doc in self.rest if doc["kind"] == "Deployment"]


def install_plan(sources: Iterable[SourceDocument]) -> InstallPlan:
    references = built_references()
    documents = [copy.deepcopy(substitute_images(s.document, references)) for s in sources]
    documents += generated_config_maps(documents)
    documents = aggregate_cluster_roles(documents)
    first = [doc for doc in documents if doc["kind"] in FIRST_KINDS]
    rest = [doc for doc in documents if doc["kind"] not in FIRST_KINDS]
    return InstallPlan(first, rest)
