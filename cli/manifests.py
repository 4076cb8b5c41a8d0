"""``jobsink manifests``: the one install bundle (``kubectl apply -f dist/jobsink.yaml``).

The bundle is assembled from the repository's sources: the CRD (``crds/``), the deployment
manifests (``config/``) and the webhook configurations (``config/webhook/``); on request, the
EventPolicy CRD for clusters without Knative (``crds/knative/``). The functions that
read, adjust and order documents are pure so the tests call them without touching files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from copy import deepcopy
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from cli.exits import ExitCode, fail
from cli.knative_mode import HEADER as KNATIVE_HEADER
from cli.knative_mode import knative_data_plane

Document = dict[str, Any]


class TransportMode(StrEnum):
    """Knative's ``transport-encryption`` values (``receiver.settings``), as a CLI choice."""

    disabled = "disabled"
    permissive = "permissive"
    strict = "strict"


# The CRD carries the whole Job schema (~450 KB): libyaml parses it ~20x faster than pure Python.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NAMESPACE = "knative-eventing"
DEFAULT_IMAGE = "jobsink:0.1.0"
CERT_MANAGER_GROUP = "cert-manager.io/"
#: Where both Deployments mount a serving certificate (the webhook's default --tls-cert dir).
TLS_DIRECTORY = "/etc/jobsink/tls"

#: The receiver's settings for a certificate mounted at TLS_DIRECTORY (cert-manager's layout).
RECEIVER_TLS_FILES = {
    "JOBSINK_RECEIVER_TLS_CERT": f"{TLS_DIRECTORY}/tls.crt",
    "JOBSINK_RECEIVER_TLS_KEY": f"{TLS_DIRECTORY}/tls.key",
    "JOBSINK_RECEIVER_TLS_CA": f"{TLS_DIRECTORY}/ca.crt",
}

#: Apply order: what others refer to comes first (namespace before namespaced objects, the CRD
#: before anything that lists it, RBAC before the Pods that need it) and the admission webhooks
#: last, so the bundle never registers a webhook before its Service exists.
KIND_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "Issuer",
    "ClusterIssuer",
    "Certificate",
    "Service",
    "Deployment",
    "PodDisruptionBudget",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)


def source_files(
    root: Path, *, cert_manager: bool = False, event_policy_crd: bool = False
) -> list[Path]:
    """The manifest files of the bundle, in a stable order.

    ``config/`` and ``config/webhook/`` hold cert-manager variants too, included only on request
    since they need cert-manager in the cluster (a file counts as one when its name says so).
    ``crds/knative/`` holds Knative's EventPolicy CRD, included only on request: a cluster with
    Knative Eventing has its own, which ours must not replace.
    """
    files = sorted((root / "crds").glob("*.yaml"))
    if event_policy_crd:
        files += sorted((root / "crds" / "knative").glob("*.yaml"))
    for directory in (root / "config", root / "config" / "webhook"):
        found = sorted(directory.glob("*.yaml"))
        files += [f for f in found if cert_manager or "cert-manager" not in f.name]
    return files


def load_documents(texts: Iterable[str]) -> list[Document]:
    """Every non-empty YAML document of every text."""
    return [doc for text in texts for doc in yaml.load_all(text, Loader=_Loader) if doc]


def without_cert_manager(docs: Iterable[Document]) -> list[Document]:
    return [d for d in docs if not str(d.get("apiVersion", "")).startswith(CERT_MANAGER_GROUP)]


def _rewrite_strings(node: Any, pattern: re.Pattern[str], replacement: str) -> Any:
    if isinstance(node, str):
        return pattern.sub(replacement, node)
    if isinstance(node, list):
        return [_rewrite_strings(item, pattern, replacement) for item in node]
    if isinstance(node, dict):
        return {key: _rewrite_strings(value, pattern, replacement) for key, value in node.items()}
    return node


def with_namespace(docs: Iterable[Document], namespace: str) -> list[Document]:
    """Move the system namespace: object namespaces, binding subjects, webhook services, DNS names.

    Only whole-word occurrences in string *values* change (``knative-eventing``,
    ``x.knative-eventing.svc``, ``knative-eventing/cert``); keys and label names never do.
    """
    if namespace == DEFAULT_NAMESPACE:
        return list(docs)
    pattern = re.compile(rf"(?<![\w-]){re.escape(DEFAULT_NAMESPACE)}(?![\w-])")
    return [_rewrite_strings(doc, pattern, namespace) for doc in docs]


def _pod_containers(doc: Document) -> Iterator[dict[str, Any]]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def with_image(docs: Iterable[Document], image: str) -> list[Document]:
    """Point every container that runs our image at ``image`` (a registry path and tag/digest)."""
    result = []
    for doc in docs:
        copy = deepcopy(doc)
        for container in _pod_containers(copy):
            if container.get("image") == DEFAULT_IMAGE:
                container["image"] = image
        result.append(copy)
    return result


def _named(docs: list[Document], kind: str, name: str) -> Document | None:
    return next(
        (d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name),
        None,
    )


def _set_env(deployment: Document, env: dict[str, str]) -> None:
    """Set ``env`` in the first container, replacing variables of the same names."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container.get("env", []) if e["name"] not in env]
    container["env"] += [{"name": key, "value": value} for key, value in env.items()]


def _mount_tls(deployment: Document, secret: str, env: dict[str, str]) -> None:
    """Mount ``secret`` at /etc/jobsink/tls in the first container and set ``env`` there."""
    _set_env(deployment, env)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    pod["volumes"] = [v for v in pod.get("volumes", []) if v["name"] != "tls"]
    pod["volumes"].append({"name": "tls", "secret": {"secretName": secret}})
    mounts = [m for m in container.get("volumeMounts", []) if m["name"] != "tls"]
    container["volumeMounts"] = [
        *mounts,
        {"name": "tls", "mountPath": TLS_DIRECTORY, "readOnly": True},
    ]


def with_transport_encryption(docs: Iterable[Document], mode: str) -> list[Document]:
    """The receiver's listeners and published addresses in ``mode`` (Knative's values)."""
    result = [deepcopy(d) for d in docs]
    receiver = _named(result, "Deployment", "job-sink")
    if receiver is not None:
        _set_env(receiver, {"JOBSINK_RECEIVER_TRANSPORT_ENCRYPTION": str(mode)})
    return result


def with_cert_manager(docs: Iterable[Document], namespace: str) -> list[Document]:
    """cert-manager issues both serving certificates; both servers drop their self-management.

    The webhook reads jobsink-webhook-tls from files (its defaults), cainjector fills caBundle,
    the receiver's HTTPS listener serves job-sink-server-tls and publishes its ca.crt as
    CACerts, and the RBAC that only self-managed certificates need (the webhook's Secret and
    caBundle writes, the receiver's Secret writes) leaves the bundle.
    """
    self_managed_rbac = {
        ("ClusterRole", "jobsink-webhook-ca-bundle"),
        ("ClusterRoleBinding", "jobsink-webhook-ca-bundle"),
        ("Role", "jobsink-webhook"),
        ("RoleBinding", "jobsink-webhook"),
        ("Role", "jobsink-receiver-certs"),
        ("RoleBinding", "jobsink-receiver-certs"),
    }
    result = [
        deepcopy(d)
        for d in docs
        if (d.get("kind"), d.get("metadata", {}).get("name")) not in self_managed_rbac
    ]
    webhook = _named(result, "Deployment", "jobsink-webhook")
    if webhook is not None:
        _mount_tls(webhook, "jobsink-webhook-tls", {"JOBSINK_WEBHOOK_SELF_MANAGED": "false"})
    receiver = _named(result, "Deployment", "job-sink")
    if receiver is not None:
        _mount_tls(receiver, "job-sink-server-tls", RECEIVER_TLS_FILES)
    for doc in result:
        if doc.get("kind") in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            annotations = doc["metadata"].setdefault("annotations", {})
            annotations["cert-manager.io/inject-ca-from"] = f"{namespace}/jobsink-webhook-tls"
    return result


def ordered(docs: Iterable[Document]) -> list[Document]:
    """Documents sorted by ``KIND_ORDER``; unknown kinds go just before the webhooks."""
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    before_webhooks = rank["MutatingWebhookConfiguration"] - 0.5
    return sorted(docs, key=lambda d: rank.get(str(d.get("kind")), before_webhooks))


STANDALONE_HEADER = (
    "# JobSink for Python: install bundle. Generated by `jobsink manifests`; do not edit.\n"
)


def dump(docs: Iterable[Document], header: str = STANDALONE_HEADER) -> str:
    body = "---\n".join(yaml.dump(doc, Dumper=_Dumper, sort_keys=False) for doc in docs)
    return header + "---\n" + body


def bundle(
    root: Path,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    image: str = DEFAULT_IMAGE,
    cert_manager: bool = False,
    transport_encryption: str | None = None,
    event_policy_crd: bool = False,
) -> list[Document]:
    """The install bundle's objects, in apply order. ``transport_encryption`` defaults to
    permissive with cert-manager (a certificate was asked for), else disabled."""
    files = source_files(root, cert_manager=cert_manager, event_policy_crd=event_policy_crd)
    docs = with_image(
        with_namespace(load_documents(f.read_text() for f in files), namespace), image
    )
    docs = with_cert_manager(docs, namespace) if cert_manager else without_cert_manager(docs)
    mode = transport_encryption or ("permissive" if cert_manager else "disabled")
    return ordered(with_transport_encryption(docs, mode))


def knative_eventing_bundle(
    root: Path,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    image: str = DEFAULT_IMAGE,
    transport_encryption: str | None = None,
) -> list[Document]:
    """What replaces Knative Eventing's ``job-sink`` data plane (``cli.knative_mode``), in apply
    order. With transport encryption the HTTPS listener serves the certificate of Knative's own
    Secret ``job-sink-server-tls``: Knative's controller publishes that Secret's CA as the
    JobSinks' CACerts, so our receiver must present a certificate it signed."""
    standalone = with_image(
        with_namespace(load_documents(f.read_text() for f in source_files(root)), namespace),
        image,
    )
    own = with_namespace(
        load_documents(f.read_text() for f in sorted((root / "config" / "knative").glob("*.yaml"))),
        namespace,
    )
    docs = knative_data_plane(without_cert_manager(standalone), own)
    mode = transport_encryption or "disabled"
    receiver = _named(docs, "Deployment", "job-sink")
    if mode != "disabled" and receiver is not None:
        _mount_tls(receiver, "job-sink-server-tls", RECEIVER_TLS_FILES)
    return ordered(with_transport_encryption(docs, mode))


def _check_sources(root: Path) -> None:
    if not any((root / "crds").glob("*.yaml")):
        fail(
            f"no CRD found in {root / 'crds'}: run from a checkout of the repository",
            ExitCode.USAGE,
        )
    if not any((root / "config").glob("*.yaml")):
        fail(f"no manifests found in {root / 'config'}", ExitCode.USAGE)


def manifests(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the bundle to this file (default: stdout)."),
    ] = None,
    image: Annotated[
        str, typer.Option(help="Container image of the webhook and the receiver.")
    ] = DEFAULT_IMAGE,
    namespace: Annotated[
        str, typer.Option(help="System namespace the components are installed in.")
    ] = DEFAULT_NAMESPACE,
    cert_manager: Annotated[
        bool,
        typer.Option("--cert-manager", help="Issue the serving certificates with cert-manager."),
    ] = False,
    transport_encryption: Annotated[
        TransportMode | None,
        typer.Option(
            help="The receiver's transport encryption: disabled (HTTP), permissive (HTTP and "
            "HTTPS) or strict (events over HTTPS only). Default: permissive with "
            "--cert-manager, else disabled."
        ),
    ] = None,
    event_policy_crd: Annotated[
        bool,
        typer.Option(
            "--event-policy-crd",
            help="Add Knative's EventPolicy CRD (eventing.knative.dev/v1alpha1), for clusters "
            "without Knative Eventing, so EventPolicies can authorize senders.",
        ),
    ] = False,
    knative_eventing: Annotated[
        bool,
        typer.Option(
            "--knative-eventing",
            help="Only what replaces Knative Eventing's job-sink data plane on a cluster that "
            "runs Knative Eventing: Deployment job-sink (Knative's selector, our receiver, "
            "Knative's config-features followed, our status writer off) and its ServiceAccount "
            "and RBAC. No CRD, webhook or Service: Knative's stay (docs/knative.md).",
        ),
    ] = False,
    source: Annotated[
        Path, typer.Option(help="Repository checkout holding crds/ and config/.", hidden=True)
    ] = REPO_ROOT,
) -> None:
    r"""Render the install bundle: namespace, CRD, RBAC, Deployments, webhooks.

    Exit codes: 0 written, 2 sources missing or output not writable.

    Examples:
      jobsink manifests --out dist/jobsink.yaml
      jobsink manifests --image registry.example/jobsink:0.1.0 \
          | kubectl apply -f -
      jobsink manifests --cert-manager --namespace jobsink-system -o jobsink.yaml
      jobsink manifests --transport-encryption strict -o jobsink.yaml
      jobsink manifests --event-policy-crd | kubectl apply -f -
      jobsink manifests --knative-eventing --image registry.example/jobsink:0.1.0 \
          | kubectl apply -f -
    """
    _check_sources(source)
    if knative_eventing and (cert_manager or event_policy_crd):
        given = "--cert-manager" if cert_manager else "--event-policy-crd"
        fail(
            f"--knative-eventing does not take {given}: Knative Eventing brings its own "
            "EventPolicy CRD and its own job-sink-server-tls certificate",
            ExitCode.USAGE,
        )
    try:
        if knative_eventing:
            docs = knative_eventing_bundle(
                source,
                namespace=namespace,
                image=image,
                transport_encryption=transport_encryption,
            )
        else:
            docs = bundle(
                source,
                namespace=namespace,
                image=image,
                cert_manager=cert_manager,
                transport_encryption=transport_encryption,
                event_policy_crd=event_policy_crd,
            )
    except yaml.YAMLError as error:
        fail(f"a manifest is not valid YAML: {error}", ExitCode.USAGE)
    text = dump(docs, KNATIVE_HEADER if knative_eventing else STANDALONE_HEADER)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror}", ExitCode.USAGE)
    print(f"wrote {out} ({len(docs)} objects)", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("manifests")(manifests)
