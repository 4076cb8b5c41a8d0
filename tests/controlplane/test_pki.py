"""Key material: who the admin is, which names the serving certificate covers."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from controlplane.node.addresses import KUBERNETES_SERVICE_IP, KUBERNETES_SERVICE_NAMES
from controlplane.pki import write_pki


def test_admin_certificate_is_in_system_masters(tmp_path: Path) -> None:
    files, _ = write_pki(tmp_path)
    subject = x509.load_pem_x509_certificate(files.admin_cert.read_bytes()).subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    serving = x509.load_pem_x509_certificate(files.serving_cert.read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert files.service_account_key.stat().st_mode & 0o077 == 0


def test_with_services_the_serving_certificate_names_what_pods_use(tmp_path: Path) -> None:
    files, _ = write_pki(
        tmp_path,
        extra_dns_names=KUBERNETES_SERVICE_NAMES,
        extra_ips=("10.244.0.1", KUBERNETES_SERVICE_IP),
    )
    serving = x509.load_pem_x509_certificate(files.serving_cert.read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "10.244.0.1",
        "10.0.0.1",
    ]
    assert sans.get_values_for_type(x509.DNSName) == [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
