"""What the self-managed Secret should hold next, for every point in a certificate's life."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from certs.authority import CertificateAuthority
from certs.rotation import Lifetimes, Material, fresh, next_check, renewed

NAMES = ["jobsink-webhook.knative-eventing.svc"]
LIFETIMES = Lifetimes(ca=dt.timedelta(days=300), serving=dt.timedelta(days=30))


def _now(after: dt.timedelta) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + after


def _issuer_is(material: Material, ca_pem: bytes) -> bool:
    ca = x509.load_pem_x509_certificate(ca_pem)
    try:
        material.serving.certificate.verify_directly_issued_by(ca)
    except Exception:
        return False
    return True


def test_nothing_stored_gives_a_fresh_ca_and_serving_pair() -> None:
    material = renewed(None, dns_names=NAMES, lifetimes=LIFETIMES)
    assert material is not None
    assert material.trusted == (material.ca.cert_pem,)
    assert _issuer_is(material, material.ca.cert_pem)


def test_a_young_material_is_left_alone() -> None:
    material = fresh(NAMES, LIFETIMES)
    assert renewed(material, dns_names=NAMES, now=_now(dt.timedelta(days=1))) is None


@pytest.mark.parametrize(
    ("after", "names", "new_ca", "new_serving"),
    [
        pytest.param(dt.timedelta(days=19), NAMES, False, False, id="serving-before-2/3"),
        pytest.param(dt.timedelta(days=21), NAMES, False, True, id="serving-after-2/3"),
        pytest.param(dt.timedelta(days=1), [*NAMES, "extra.svc"], False, True, id="new-dns-name"),
        pytest.param(dt.timedelta(days=201), NAMES, True, True, id="ca-after-2/3"),
    ],
)
def test_renewal_points(
    after: dt.timedelta, names: list[str], new_ca: bool, new_serving: bool
) -> None:
    material = fresh(NAMES, LIFETIMES)
    result = renewed(material, dns_names=names, now=_now(after), lifetimes=LIFETIMES)
    if not new_ca and not new_serving:
        assert result is None
        return
    assert result is not None
    assert (result.ca != material.ca) is new_ca
    assert (result.serving != material.serving) is new_serving


def test_new_ca_keeps_the_old_one_trusted() -> None:
    material = fresh(NAMES, LIFETIMES)
    later = _now(dt.timedelta(days=201))
    result = renewed(material, dns_names=NAMES, now=later, lifetimes=LIFETIMES)
    assert result is not None
    assert result.ca != material.ca
    # Clients given the old bundle still verify the old serving certificate while the new
    # bundle propagates; the new serving certificate comes from the new CA.
    assert result.trusted == (result.ca.cert_pem, material.ca.cert_pem)
    assert _issuer_is(result, result.ca.cert_pem)


def test_expired_old_ca_leaves_the_bundle() -> None:
    old = CertificateAuthority.create(lifetime=dt.timedelta(days=10))
    current = fresh(NAMES, LIFETIMES)
    material = Material(
        ca=current.ca, trusted=(current.ca.cert_pem, old.cert_pem), serving=current.serving
    )
    result = renewed(
        material, dns_names=NAMES, now=_now(dt.timedelta(days=11)), lifetimes=LIFETIMES
    )
    assert result is not None
    assert result.trusted == (current.ca.cert_pem,)


def test_serving_cert_from_an_untrusted_ca_is_replaced() -> None:
    material = fresh(NAMES, LIFETIMES)
    stranger = CertificateAuthority.create().issue_server(dns_names=NAMES)
    tampered = Material(ca=material.ca, trusted=material.trusted, serving=stranger)
    result = renewed(tampered, dns_names=NAMES, lifetimes=LIFETIMES)
    assert result is not None
    assert _issuer_is(result, material.ca.cert_pem)


def test_secret_data_round_trip_and_errors() -> None:
    material = fresh(NAMES, LIFETIMES)
    assert Material.from_data(material.to_data()) == material
    data = material.to_data()
    del data["tls.key"]
    with pytest.raises(ValueError, match=r"missing keys: tls\.key"):
        Material.from_data(data)


def test_next_check_is_the_earliest_due_date() -> None:
    material = fresh(NAMES, LIFETIMES)
    wait = next_check(material)
    assert dt.timedelta(days=19) < wait <= dt.timedelta(days=20, minutes=10)


def test_ip_sans_are_issued_and_a_missing_one_triggers_reissue() -> None:
    material = renewed(None, dns_names=NAMES, ips=["127.0.0.1"], lifetimes=LIFETIMES)
    assert material is not None
    assert renewed(material, dns_names=NAMES, ips=["127.0.0.1"], lifetimes=LIFETIMES) is None
    more = renewed(material, dns_names=NAMES, ips=["127.0.0.1", "::1"], lifetimes=LIFETIMES)
    assert more is not None
    assert more.ca == material.ca
    sans = more.serving.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert {str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "::1",
    }
