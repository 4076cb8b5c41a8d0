"""The webhook configurations: what the apiserver needs, and config/webhook/ kept in step."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from webhook import configurations

CONFIG = Path(__file__).resolve().parents[2] / "config" / "webhook"
CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _all() -> list[dict[str, Any]]:
    return [*configurations.in_cluster(), *configurations.local(8443, CA)]


@pytest.mark.parametrize(
    "doc", _all(), ids=lambda d: f"{d['kind']}-{next(iter(d['webhooks'][0]['clientConfig']))}"
)
def test_webhook_settings(doc: dict[str, Any]) -> None:
    (webhook,) = doc["webhooks"]
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["sideEffects"] == "None"
    assert webhook["timeoutSeconds"] == 5
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["matchPolicy"] == "Equivalent"
    assert webhook["rules"] == [
        {
            "apiGroups": ["sinks.knative.dev"],
            "apiVersions": ["*"],
            "resources": ["jobsinks"],
            "operations": ["CREATE", "UPDATE"],
            "scope": "Namespaced",
        }
    ]
    assert webhook["namespaceSelector"] == {
        "matchExpressions": [
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["knative-eventing"],
            }
        ]
    }
    kubernetes_validate.validate(doc, "1.36", strict=True)


def test_local_configurations_use_url_and_ca_bundle() -> None:
    mutating, validating = configurations.local(9443, CA)
    assert mutating["webhooks"][0]["clientConfig"] == {
        "url": "https://127.0.0.1:9443/defaulting",
        "caBundle": base64.b64encode(CA).decode(),
    }
    assert validating["webhooks"][0]["clientConfig"]["url"] == "https://127.0.0.1:9443/validation"


def test_in_cluster_configurations_reference_the_service() -> None:
    mutating, validating = configurations.in_cluster()
    assert mutating["webhooks"][0]["clientConfig"] == {
        "service": {
            "name": "jobsink-webhook",
            "namespace": "knative-eventing",
            "path": "/defaulting",
            "port": 443,
        }
    }
    assert validating["webhooks"][0]["clientConfig"]["service"]["path"] == "/validation"
    assert mutating["webhooks"][0]["reinvocationPolicy"] == "Never"
    assert "reinvocationPolicy" not in validating["webhooks"][0]


def test_config_webhook_yaml_matches_the_code() -> None:
    docs = [d for d in yaml.safe_load_all((CONFIG / "configurations.yaml").read_text()) if d]
    assert docs == configurations.in_cluster()


def test_cert_manager_alternative_issues_the_mounted_secret() -> None:
    docs = [d for d in yaml.safe_load_all((CONFIG / "cert-manager.yaml").read_text()) if d]
    serving = next(d for d in docs if d["metadata"]["name"] == "jobsink-webhook-tls")
    assert serving["kind"] == "Certificate"
    assert serving["spec"]["secretName"] == "jobsink-webhook-tls"
    assert "jobsink-webhook.knative-eventing.svc" in serving["spec"]["dnsNames"]
    assert serving["spec"]["privateKey"] == {
        "algorithm": "ECDSA",
        "size": 256,
        "rotationPolicy": "Always",
    }
