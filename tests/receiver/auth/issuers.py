"""Signing keys and tokens made here, for the verifier's unit tests: an issuer of our own."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from receiver.auth.keys import Issuer

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDIENCE = "sinks.knative.dev/jobsink/default/job-sink-logger"
SUB = "system:serviceaccount:team-a:sender"


@dataclass
class Signer:
    """One key pair and its JWK, as an apiserver publishes it."""

    kid: str
    algorithm: str = "RS256"
    private: Any = field(init=False)

    def __post_init__(self) -> None:
        if self.algorithm.startswith("ES"):
            self.private = ec.generate_private_key(ec.SECP256R1())
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        public = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(
        self, claims: dict[str, Any] | None = None, headers: dict[str, Any] | None = None
    ) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "sub": SUB, "aud": [AUDIENCE], "iat": now, "exp": now + 600}
        payload.update(claims or {})
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None},
            self.private,
            algorithm=self.algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


@dataclass
class StaticIssuer:
    """An issuer whose JWKS the test sets; counts how often it was fetched."""

    signers: list[Signer]
    issuer: str = ISSUER
    fetched: int = 0
    failing: bool = False

    def __call__(self) -> Issuer:
        self.fetched += 1
        if self.failing:
            raise OSError("issuer unreachable")
        return Issuer(issuer=self.issuer, jwks={"keys": [s.jwk() for s in self.signers]})
