"""Authentication end to end: ``jobsink receiver`` with ``authentication-oidc`` on, tokens from the
real apiserver (``TokenRequest``), and the hostile tokens a sender could forge.

The module runs its own control plane: the session's receiver (authentication off) would
otherwise clear the audiences this receiver publishes, JobSink by JobSink.

Expiry: the apiserver will not issue a token shorter than ten minutes, so the expired case runs
the verifier in process with its clock an hour ahead (a real token, real keys, a later "now").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kubernetes import client
from typer.testing import CliRunner

from cli import stack
from cli.main import app as cli_app
from controlplane import ControlPlane, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import wait_for
from kubeapi.jobsinks import JobSinks
from kubeapi.tokens import request_token
from receiver.auth.audience import audience_of
from receiver.auth.discovery import ApiserverDiscovery
from receiver.auth.keys import KeySet
from receiver.auth.tokens import TokenRejected, TokenVerifier
from receiver.controller.sinks import SinkCache
from receiver.controller.status import StatusReconciler
from receiver.settings import StatusSettings
from tests.e2e.services import apply_crds, create_namespace
from tests.seed import SEED_BODY, SEED_HEADERS

NAMESPACE = "team-a"
SENDER = f"system:serviceaccount:{NAMESPACE}:sender"
REFETCH_SECONDS = 5.0

JOBSINK = """
apiVersion: sinks.knative.dev/v1alpha1
kind: JobSink
metadata: {{name: {name}, namespace: team-a}}
spec:
  job:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: main, image: docker.io/library/bash:5, command: [cat]}}]
"""


@dataclass
class Secured:
    plane: ControlPlane
    api: client.ApiClient
    process: ManagedProcess
    url: str
    issuer: str
    jwks: dict[str, Any]

    def token(self, sink: str = "a", account: str = "sender") -> str:
        return request_token(self.api, NAMESPACE, account, audience_of(NAMESPACE, sink))

    def post(self, token: str | None, sink: str = "a", **headers: str) -> httpx.Response:
        sent = {**SEED_HEADERS, **headers}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        return httpx.post(f"{self.url}/{NAMESPACE}/{sink}", content=SEED_BODY, headers=sent)

    def key_fetches(self) -> float:
        text = httpx.get(self.url + "/metrics").text
        prefix = 'jobsink_oidc_key_fetches_total{outcome="ok"} '
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].removeprefix(prefix)) if lines else 0.0


def _audience_published(plane: ControlPlane, name: str) -> bool:
    shown = plane.kubectl("get", "jobsink", name, "-n", NAMESPACE, "-o", "json").stdout
    return bool(((json.loads(shown).get("status") or {}).get("address") or {}).get("audience"))


@pytest.fixture(scope="module")
def secured() -> Iterator[Secured]:
    plane = ControlPlane()
    plane.start()
    api = plane.api_client()
    try:
        apply_crds(plane)
        plane.kubectl("create", "namespace", "knative-eventing")  # the status Lease
        create_namespace(api, NAMESPACE)
        for account in ("sender", "other"):
            plane.kubectl("create", "serviceaccount", account, "-n", NAMESPACE)
        for name in ("a", "b"):
            plane.kubectl("apply", "-f", "-", input=JOBSINK.format(name=name))
        port = free_ports(1)[0]
        env = {
            "JOBSINK_RECEIVER_AUTHENTICATION_OIDC": "enabled",
            "JOBSINK_RECEIVER_OIDC_REFETCH_SECONDS": str(REFETCH_SECONDS),
        }
        process = stack.start_receiver(plane, port, name="receiver-oidc", env=env)
        for name in ("a", "b"):
            wait_for(lambda n=name: _audience_published(plane, n), what="audience", timeout=30)
        issuer = ApiserverDiscovery(api)()
        yield Secured(plane, api, process, f"http://{LOOPBACK}:{port}", issuer.issuer,
                      dict(issuer.jwks))  # fmt: skip
    finally:
        api.close()  # type: ignore[no-untyped-call]
        plane.stop()


def test_status_publishes_each_sinks_audience_as_kubectl_shows_it(secured: Secured) -> None:
    shown = secured.plane.kubectl("get", "jobsink", "a", "-n", NAMESPACE, "-o", "yaml").stdout
    status = yaml.safe_load(shown)["status"]
    assert status["address"]["audience"] == "sinks.knative.dev/jobsink/team-a/a"
    assert [address["audience"] for address in status["addresses"]] == [
        "sinks.knative.dev/jobsink/team-a/a"
    ]


def test_a_token_for_the_sinks_audience_gets_202(secured: Secured) -> None:
    response = secured.post(secured.token())
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert httpx.get(secured.url + location).status_code == 401  # reading it needs a token too
    authorized = {"authorization": f"Bearer {secured.token()}"}
    assert httpx.get(secured.url + location, headers=authorized).status_code in (200, 202)


def test_no_token_is_401_with_a_bearer_challenge(secured: Secured) -> None:
    response = secured.post(None)
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")


def test_a_token_for_another_sinks_audience_is_401(secured: Secured) -> None:
    response = secured.post(secured.token(sink="b"), sink="a")
    assert (response.status_code, response.json()["reason"]) == (401, "wrong_audience")
    assert secured.post(secured.token(sink="b"), sink="b").status_code == 202


def test_an_expired_token_is_refused_by_a_verifier_an_hour_later(secured: Secured) -> None:
    token, audience = secured.token(), audience_of(NAMESPACE, "a")

    async def verify(offset: float) -> str:
        keys = KeySet(ApiserverDiscovery(secured.api))
        verifier = TokenVerifier(keys, clock=lambda: time.time() + offset)
        return (await verifier.verify(token, audience)).sub

    assert asyncio.run(verify(0)) == SENDER
    with pytest.raises(TokenRejected) as rejected:
        asyncio.run(verify(3600))
    assert rejected.value.reason == "expired"


def test_the_keys_are_readable_with_a_service_accounts_own_token(secured: Secured) -> None:
    # What the receiver's Pod does: its own service account, no extra role.
    own = request_token(secured.api, NAMESPACE, "other", secured.issuer)
    configuration = client.Configuration()
    configuration.host = secured.api.configuration.host
    configuration.ssl_ca_cert = secured.api.configuration.ssl_ca_cert
    configuration.api_key = {"BearerToken": f"Bearer {own}"}
    with client.ApiClient(configuration) as as_account:
        fetched = ApiserverDiscovery(as_account)()
    assert fetched.issuer == secured.issuer
    assert fetched.jwks["keys"]


def _apiserver_key(secured: Secured) -> dict[str, Any]:
    key: dict[str, Any] = secured.jwks["keys"][0]
    return key


def _forged(secured: Secured, headers: dict[str, Any], algorithm: str = "RS256",
            key: Any = None) -> str:  # fmt: skip
    now = int(time.time())
    claims = {"iss": secured.issuer, "sub": SENDER, "aud": [audience_of(NAMESPACE, "a")],
              "iat": now, "exp": now + 600}  # fmt: skip
    if key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def test_a_token_signed_by_another_key_is_401(secured: Secured) -> None:
    forged = _forged(secured, {"kid": _apiserver_key(secured)["kid"]})
    response = secured.post(forged)
    assert (response.status_code, response.json()["reason"]) == (401, "bad_signature")


class _Counting(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"keys": []}).encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()


def _none_token(secured: Secured) -> str:
    unsigned = _forged(secured, {"kid": _apiserver_key(secured)["kid"]})
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header.decode()}.{unsigned.split('.')[1]}."


def _hs256_with_the_public_key(secured: Secured) -> str:
    public = jwt.PyJWK(_apiserver_key(secured)).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": _apiserver_key(secured)["kid"], "typ": "JWT"}
    signing = jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
    forged = _forged(secured, {"kid": _apiserver_key(secured)["kid"]})
    payload = forged.split(".")[1]
    mac = hmac.new(pem, f"{signing}.{payload}".encode(), hashlib.sha256).digest()
    return f"{signing}.{payload}.{jwt.utils.base64url_encode(mac).decode()}"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda s, _: "a" * 20 * 1024, "token_too_large", id="20KB"),
        pytest.param(lambda s, _: _none_token(s), "unsupported_algorithm", id="alg-none"),
        pytest.param(
            lambda s, _: _hs256_with_the_public_key(s), "unsupported_algorithm", id="hs256-pubkey"
        ),
        pytest.param(
            lambda s, url: _forged(
                s, {"kid": _apiserver_key(s)["kid"], "jku": url + "/jwks", "x5u": url + "/cert"}
            ),
            "bad_signature",
            id="jku-x5u-known-kid",
        ),
        pytest.param(
            lambda s, url: _forged(s, {"kid": "mine", "jku": url + "/jwks", "x5u": url + "/x"}),
            "unknown_key",
            id="jku-x5u-unknown-kid",
        ),
    ],
)
def test_hostile_tokens_are_401_and_nothing_elsewhere_is_fetched(
    secured: Secured, elsewhere: str, make: Any, reason: str
) -> None:
    _Counting.hits = 0
    began = time.monotonic()
    response = secured.post(make(secured, elsewhere))
    assert time.monotonic() - began < REFETCH_SECONDS
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert _Counting.hits == 0


def test_a_64_kb_token_never_reaches_the_app(secured: Secured) -> None:
    # The request head limit (32 KiB, JOBSINK_RECEIVER_MAX_HEADER_BYTES) answers first: 431 and
    # the connection closed, before a byte of it is parsed as a token. Below that limit, the
    # verifier's own cap (16 KiB) answers 401 token_too_large (the 20KB case above).
    began = time.monotonic()
    response = secured.post("a" * 64 * 1024)
    assert time.monotonic() - began < 1.0
    assert response.status_code == 431
    assert response.headers.get("connection") == "close"


def test_a_thousand_unknown_kids_cost_the_apiserver_at_most_the_rate_limited_fetches(
    secured: Secured,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = [_forged(secured, {"kid": f"kid-{i}"}, key=key) for i in range(1000)]
    before = secured.key_fetches()

    async def flood() -> list[int]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=30) as http:
            gate = asyncio.Semaphore(64)

            async def one(token: str) -> int:
                async with gate:
                    headers = {**SEED_HEADERS, "authorization": f"Bearer {token}"}
                    url = f"{secured.url}/{NAMESPACE}/a"
                    return (await http.post(url, content=SEED_BODY, headers=headers)).status_code

            return await asyncio.gather(*(one(token) for token in forged))

    began = time.monotonic()
    statuses = asyncio.run(flood())
    elapsed = time.monotonic() - began
    assert set(statuses) == {401}
    fetched = secured.key_fetches() - before
    assert fetched <= 1 + elapsed // REFETCH_SECONDS, (fetched, elapsed)


def test_jobsink_send_requests_a_token_for_the_sinks_audience(secured: Secured) -> None:
    args = ["send", f"{NAMESPACE}/a", "--url", secured.url, "-s", "cli/test", "-t", "t",
            "--audience-from-sink", "--service-account", f"{NAMESPACE}/sender",
            "--kubeconfig", str(secured.plane.kubeconfig)]  # fmt: skip
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("202 Accepted")
    without = CliRunner().invoke(cli_app, args[:8])
    assert without.exit_code == 1
    assert "authentication required" in without.stderr


class _RecordingJobSinks(JobSinks):
    """The real gateway, keeping what the apiserver answered to each status patch."""

    answers: list[dict[str, Any] | None]

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        answer = super().patch_status(namespace, name, status, resource_version)
        self.answers.append(answer)
        return answer


def test_a_status_writer_with_authentication_off_clears_the_audience(secured: Secured) -> None:
    # Another writer's view (authentication off) is written once; the secured receiver's own
    # reconciler then sees the change through its watch and publishes the audience again.
    cache = SinkCache(secured.api, namespace=NAMESPACE)
    gateway = _RecordingJobSinks(secured.api)
    gateway.answers = []
    cache.start()
    try:
        assert cache.wait_synced(30)
        settings = StatusSettings(public_url=secured.url)
        writer = StatusReconciler(
            secured.api, cache, settings, "audience-off", audiences=False, jobsinks=gateway
        )
        assert writer.reconcile((NAMESPACE, "b")) == "updated"
    finally:
        cache.stop()
    (stored,) = gateway.answers
    assert stored is not None
    assert "audience" not in stored["status"]["address"]
    assert all("audience" not in address for address in stored["status"]["addresses"])
    wait_for(lambda: _audience_published(secured.plane, "b"), what="audience again", timeout=30)
