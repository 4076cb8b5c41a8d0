"""Self-managed mode: a server keeps its CA and serving certificate in a Secret.

On start and then whenever something is due (see ``certs.rotation``), each replica:
1. reads the Secret and computes what it should hold; if that differs, writes it with the read
   ``resourceVersion`` as precondition (or creates it if absent). A replica that loses the race
   gets 409, reads again and adopts the winner's certificates, so two replicas never end up with
   two CAs;
2. publishes the trust bundle where its clients read it (``Publish``: the webhook patches its
   configurations' ``caBundle``, the receiver its JobSinks' ``CACerts``);
3. installs the serving pair into the live TLS context: new connections get it, no restart.

A serving certificate signed by a CA the clients have not been given yet is installed only after
a grace period, so they (the apiserver's informer, say) have picked up the new bundle first, and
the bundle is published once more at that point in case a replica with a stale read overwrote it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from certs.live import LiveContext
from certs.rotation import DEFAULT_CA_NAME, Lifetimes, Material, next_check, renewed
from kubeapi.errors import Conflict
from kubeapi.secrets import SecretStore, Stored
from kubeapi.transport import Api

log = logging.getLogger(__name__)

#: Write attempts per reconcile; each lost race means another replica just wrote a valid Secret.
ATTEMPTS = 5
#: Retry delay after a failed reconcile or a configuration that is not installed yet.
RETRY_SECONDS = 5.0


class Store(Protocol):
    def get(self) -> Stored | None: ...
    def create(self, data: dict[str, str]) -> Stored: ...
    def replace(self, data: dict[str, str], resource_version: str) -> Stored: ...


#: Publishes the trust bundle; returns False when it could not reach every configuration.
Publish = Callable[[bytes], bool]


class SelfManaged:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        live: LiveContext,
        *,
        dns_names: list[str],
        ips: list[str] | None = None,
        ca_name: str = DEFAULT_CA_NAME,
        lifetimes: Lifetimes | None = None,
        resync_seconds: float = 300.0,
        grace_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.publish = publish
        self.live = live
        self.dns_names = dns_names
        self.ips = ips or []
        self.ca_name = ca_name
        self.lifetimes = lifetimes or Lifetimes()
        self.resync_seconds = resync_seconds
        self.grace_seconds = grace_seconds
        self.published: bytes | None = None

    @classmethod
    def in_secret(
        cls,
        api: Api,
        live: LiveContext,
        publish: Publish,
        *,
        namespace: str,
        secret: str,
        dns_names: list[str],
        ips: list[str] | None = None,
        ca_name: str = DEFAULT_CA_NAME,
        lifetimes: Lifetimes | None = None,
        resync_seconds: float = 300.0,
    ) -> SelfManaged:
        """Certificates kept in Secret ``namespace/secret``; ``publish`` hands the trust bundle
        to whoever the clients read it from."""
        store = SecretStore(api, namespace, secret, {"app.kubernetes.io/part-of": "jobsink"})
        return cls(
            store,
            publish,
            live,
            dns_names=dns_names,
            ips=ips,
            ca_name=ca_name,
            lifetimes=lifetimes,
            resync_seconds=resync_seconds,
        )

    def reconcile(self) -> Material:
        """Bring the Secret up to date (blocking I/O) and return what it now holds."""
        for _ in range(ATTEMPTS):
            stored = self.store.get()
            current = None
            if stored is not None:
                try:
                    current = Material.from_data(stored.data)
                except ValueError as error:
                    log.warning(
                        "certificate Secret unusable; replacing it", extra={"error": str(error)}
                    )
            wanted = renewed(
                current,
                dns_names=self.dns_names,
                ips=self.ips,
                lifetimes=self.lifetimes,
                ca_name=self.ca_name,
            )
            if wanted is None:
                assert current is not None
                return current
            try:
                if stored is None:
                    self.store.create(wanted.to_data())
                else:
                    self.store.replace(wanted.to_data(), stored.resource_version)
            except Conflict:  # a create or a replace lost to another replica
                log.info("certificate Secret written by another replica; reading it again")
                continue
            log.info(
                "certificate Secret written",
                extra={"serving_not_after": wanted.serving.not_after.isoformat()},
            )
            return wanted
        raise RuntimeError(f"certificate Secret still contended after {ATTEMPTS} attempts")

    async def step(self) -> float:
        """One round; returns the seconds until the next one."""
        material = await asyncio.to_thread(self.reconcile)
        complete = await asyncio.to_thread(self.publish, material.bundle)
        previous, self.published = self.published, material.bundle
        if previous is not None and material.ca.cert_pem not in previous:
            await asyncio.sleep(self.grace_seconds)
            # Publish again: a replica that read the Secret just before it changed may have
            # written the old bundle over ours meanwhile.
            complete = await asyncio.to_thread(self.publish, material.bundle) and complete
        self.live.install(material.serving)
        until_due = next_check(material).total_seconds() + 1.0
        return min(
            self.resync_seconds, until_due, self.resync_seconds if complete else RETRY_SECONDS
        )

    async def run(self) -> None:
        """Reconcile forever on the server's event loop (installs must happen there)."""
        while True:
            try:
                delay = await self.step()
            except Exception:
                log.exception("certificate reconcile failed; retrying")
                delay = RETRY_SECONDS
            await asyncio.sleep(delay)
