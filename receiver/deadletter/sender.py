"""One attempt to POST a dead letter, and what its answer means for the next one.

Like Knative's dispatchers, a 2xx is delivered; a connection failure, a timeout, 404, 408, 409,
429 and 5xx are worth retrying (the sink may be starting, overloaded or briefly gone); any other
answer (400, 413, 415...) says the sink will never take this event, so retrying it is pointless.
"""

from __future__ import annotations

import enum
import functools
import ssl
from dataclasses import dataclass
from typing import Final

import httpx

from receiver.deadletter.letter import CONTENT_TYPE

RETRYABLE_CODES: Final = frozenset({404, 408, 409, 429})
MAX_DETAIL: Final = 200


class Answer(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True)
class Attempt:
    answer: Answer
    detail: str
    """The status and the start of the body, or the connection error: for logs and Events."""


def judge(status: int) -> Answer:
    if 200 <= status < 300:
        return Answer.DELIVERED
    if status in RETRYABLE_CODES or status >= 500:
        return Answer.RETRY
    return Answer.REFUSED


@functools.lru_cache(maxsize=16)
def _trusting(ca_certs: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_certs)


class Sender:
    """POSTs letters over one connection pool; ``ca_certs`` (PEM) replaces the system trust for
    an https sink that publishes its CA, as Knative's ``CACerts`` does."""

    def __init__(self) -> None:
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        self._with_ca: dict[str, httpx.Client] = {}

    def send(self, url: str, body: bytes, *, timeout: float, ca_certs: str | None) -> Attempt:
        client = self._client if not ca_certs else self._client_trusting(ca_certs)
        try:
            response = client.post(
                url, content=body, headers={"Content-Type": CONTENT_TYPE}, timeout=timeout
            )
        except httpx.HTTPError as error:
            return Attempt(Answer.RETRY, f"{type(error).__name__}: {error}"[:MAX_DETAIL])
        text = response.text.strip().replace("\n", " ")
        detail = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        return Attempt(judge(response.status_code), detail[:MAX_DETAIL])

    def _client_trusting(self, ca_certs: str) -> httpx.Client:
        client = self._with_ca.get(ca_certs)
        if client is None:
            client = httpx.Client(
                trust_env=False, follow_redirects=False, verify=_trusting(ca_certs)
            )
            self._with_ca[ca_certs] = client
        return client

    def close(self) -> None:
        self._client.close()
        for client in self._with_ca.values():
            client.close()
