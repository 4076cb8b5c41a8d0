"""The kubeconfig is self-contained and loads in the official client."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml
from kubernetes import client, config

from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.pki import write_pki


def test_kubeconfig_embeds_credentials_and_loads(tmp_path: Path) -> None:
    files, authority = write_pki(tmp_path / "pki")
    document = kubeconfig_document(
        server="https://127.0.0.1:6443",
        ca_cert=files.ca_cert,
        client_cert=files.admin_cert,
        client_key=files.admin_key,
    )
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, document)

    assert path.stat().st_mode & 0o077 == 0
    loaded = yaml.safe_load(path.read_text())
    cluster = loaded["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == authority.cert_pem
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)  # type: ignore[no-untyped-call]
    assert configuration.host == "https://127.0.0.1:6443"
