"""Where the signing keys come from: an OIDC discovery document and the JWKS it points to.

By default the issuer is the cluster's own: the kube-apiserver serves both documents
(``/.well-known/openid-configuration`` and ``/openid/v1/jwks``) to any authenticated client
(the ``system:service-account-issuer-discovery`` ClusterRole), so the receiver fetches them with
its own credentials. Given a discovery base URL (Knative's ``oidc-discovery-base-url``), both are
fetched from there over HTTPS instead.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubeapi import raw
from kubeapi.transport import Api
from receiver.auth.keys import Issuer

DISCOVERY_PATH = "/.well-known/openid-configuration"
FETCH_TIMEOUT_SECONDS = 10.0
ACCEPT = "application/jwk-set+json, application/json"


class DiscoveryError(Exception):
    """A discovery document or JWKS that could not be had, or is not what OIDC says."""


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        decoded = json.loads(data)
    except ValueError as error:
        raise DiscoveryError(f"{what} is not JSON: {error}") from None
    if not isinstance(decoded, dict):
        raise DiscoveryError(f"{what} is not a JSON object")
    return decoded


def _issuer_and_jwks_uri(document: dict[str, Any]) -> tuple[str, str]:
    issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
    if not isinstance(issuer, str) or not issuer:
        raise DiscoveryError("the discovery document has no issuer")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise DiscoveryError("the discovery document has no jwks_uri")
    return issuer, jwks_uri


class ApiserverDiscovery:
    """The kube-apiserver's issuer, through the receiver's own Kubernetes client.

    The ``jwks_uri`` the apiserver announces names its external address, which a Pod may not
    reach under that name; only its path is used, sent to the apiserver the client already talks
    to.
    """

    def __init__(self, api_client: Api) -> None:
        self._api = api_client

    def _get(self, path: str) -> dict[str, Any]:
        # The JWKS is served only as its own media type: a plain JSON Accept gets 406.
        answer = raw.send(self._api, "GET", path, timeout=FETCH_TIMEOUT_SECONDS, accept=ACCEPT)
        if not answer.ok:
            raise DiscoveryError(f"GET {path}: {answer.status} {answer.reason}")
        return _json_object(answer.data, path)

    def __call__(self) -> Issuer:
        issuer, jwks_uri = _issuer_and_jwks_uri(self._get(DISCOVERY_PATH))
        return Issuer(issuer=issuer, jwks=self._get(urlsplit(jwks_uri).path))


class UrlDiscovery:
    """An issuer of its own: ``<base_url>/.well-known/openid-configuration``, then its
    ``jwks_uri``; ``ca_file`` verifies both servers (default: the system's CAs)."""

    def __init__(self, base_url: str, ca_file: Path | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._verify = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _get(self, url: str) -> dict[str, Any]:
        import httpx  # only a receiver with an issuer of its own needs an HTTP client library

        try:
            response = httpx.get(
                url, timeout=FETCH_TIMEOUT_SECONDS, verify=self._verify, headers={"accept": ACCEPT}
            )
        except httpx.HTTPError as error:
            raise DiscoveryError(f"GET {url}: {error}") from None
        if response.status_code != 200:
            raise DiscoveryError(f"GET {url}: {response.status_code}")
        return _json_object(response.content, url)

    def __call__(self) -> Issuer:
        issuer, jwks_uri = _issuer_and_jwks_uri(self._get(self._base_url + DISCOVERY_PATH))
        return Issuer(issuer=issuer, jwks=self._get(jwks_uri))
