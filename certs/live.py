"""A server ``SSLContext`` whose certificate can be replaced while the server runs.

uvicorn (like asyncio) binds one ``SSLContext`` to the listening socket for its whole life, but
OpenSSL copies the context's certificate into each connection when the connection is created. So
loading a new chain into the same context changes what *new* connections present, while
established ones keep theirs. Two details make that safe:

- ``load_cert_chain`` replaces the certificate first and then the key; given a key that does not
  match, OpenSSL has by then dropped the old key and the context is left unusable. Every pair is
  therefore checked on a scratch context before it touches the live one.
- Installs must run on the event loop thread (handshakes run there too), so no connection is ever
  created between the certificate and the key being swapped.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
from collections.abc import Callable

from certs.authority import KeyPair

log = logging.getLogger(__name__)


class InvalidKeyPair(ValueError):
    """The certificate and key cannot serve TLS together (unreadable, or they do not match)."""


def _loaded(context: ssl.SSLContext, pair: KeyPair) -> None:
    # ``load_cert_chain`` only reads files; a private directory keeps the key from other users.
    with tempfile.TemporaryDirectory(prefix="jobsink-tls-") as directory:
        cert_path = os.path.join(directory, "tls.crt")
        key_path = os.path.join(directory, "tls.key")
        for path, data in ((cert_path, pair.cert_pem), (key_path, pair.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
        context.load_cert_chain(cert_path, key_path)


def server_context(minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> ssl.SSLContext:
    """Server context with Python's secure defaults, ALPN ``http/1.1`` only.

    TLS 1.2 is the floor unless ``minimum`` raises it; OpenSSL negotiates the highest version both
    sides offer, so a TLS 1.3 client always gets 1.3.
    """
    if minimum < ssl.TLSVersion.TLSv1_2:
        raise ValueError(f"TLS below 1.2 is not offered (asked for {minimum.name})")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = minimum
    context.set_alpn_protocols(["http/1.1"])
    return context


class LiveContext:
    """The serving context plus the pair it currently presents."""

    def __init__(
        self, pair: KeyPair | None = None, *, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    ) -> None:
        self.minimum = minimum
        self.context = server_context(minimum)
        self.pair: KeyPair | None = None
        self.listeners: list[Callable[[KeyPair], None]] = []
        if pair is not None:
            self.install(pair)

    @property
    def ready(self) -> bool:
        return self.pair is not None

    def install(self, pair: KeyPair) -> bool:
        """Serve ``pair`` to new connections. False when it is already served.

        Raises ``InvalidKeyPair`` and leaves the live context untouched if the pair is unusable.
        """
        if pair == self.pair:
            return False
        try:
            _loaded(server_context(self.minimum), pair)
        except (ssl.SSLError, ValueError) as error:
            raise InvalidKeyPair(f"certificate and key cannot be served: {error}") from error
        _loaded(self.context, pair)
        self.pair = pair
        certificate = pair.certificate
        log.info(
            "serving certificate loaded",
            extra={
                "serial": format(certificate.serial_number, "x"),
                "not_after": certificate.not_valid_after_utc.isoformat(),
            },
        )
        for listener in self.listeners:
            listener(pair)
        return True
