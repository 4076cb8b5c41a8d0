"""Knative Eventing's feature flags (ConfigMap ``config-features`` in the system namespace),
followed live where our receiver replaces Knative's ``job-sink`` data plane.

There, Knative's controller writes every JobSink's status: with ``authentication-oidc: enabled``
it publishes ``status.address.audience`` and Knative's senders (Brokers, Channels, sources) send
tokens for it. The receiver must then require those tokens, and stop requiring them when the
flag is turned off, without a restart, as Knative's own ``job-sink`` does. Its
``default-authorization-mode`` decides for JobSinks no EventPolicy applies to.

Parsing follows Knative's ``feature.NewFlagsConfigFromMap`` (v0.50.0): values compare without
regard to case, keys with surrounding blanks trimmed, keys starting with ``_`` ignored; a
missing ConfigMap or key means Knative's default (authentication off, ``allow-same-namespace``).
Until the ConfigMap has been read once, an event is answered 503 with ``Retry-After``: whether
a token is required is not known yet, and Knative's senders retry a 503.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, get_args

from kubeapi.calls import Caller
from kubeapi.informer import Handlers, Informer, Object, Source
from kubeapi.listwatch import ListWatch
from kubeapi.resources import ResourceType
from kubeapi.transport import Api
from receiver.auth.policy_decision import DEFAULT_MODE, AuthorizationMode
from receiver.auth.subject import Subject
from receiver.dataplane.authenticate import Authenticator
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.refusals import Rejection

log = logging.getLogger(__name__)

CONFIG_MAPS: Final = ResourceType("", "v1", "configmaps", "ConfigMap", namespaced=True)
FEATURES_CONFIG_MAP: Final = "config-features"
AUTHENTICATION_OIDC: Final = "authentication-oidc"
DEFAULT_AUTHORIZATION_MODE: Final = "default-authorization-mode"
MODES: Final[tuple[AuthorizationMode, ...]] = get_args(AuthorizationMode)


@dataclass(frozen=True)
class KnativeFeatures:
    """What the receiver takes from Knative's flags; the defaults are Knative's."""

    authentication_oidc: bool = False
    default_authorization_mode: AuthorizationMode = DEFAULT_MODE


def parse_features(data: Mapping[str, Any] | None) -> KnativeFeatures:
    """The flags of a ``config-features`` ConfigMap's ``data`` (None: no ConfigMap)."""
    flags = {
        str(key).strip(): str(value).strip().lower()
        for key, value in (data or {}).items()
        if not str(key).startswith("_")
    }
    mode = flags.get(DEFAULT_AUTHORIZATION_MODE, DEFAULT_MODE)
    if mode not in MODES:
        log.warning(
            "config-features: %s %r is none of %s; using %s",
            DEFAULT_AUTHORIZATION_MODE, mode, ", ".join(MODES), DEFAULT_MODE,
        )  # fmt: skip
        mode = DEFAULT_MODE
    return KnativeFeatures(
        authentication_oidc=flags.get(AUTHENTICATION_OIDC) == "enabled",
        default_authorization_mode=next(m for m in MODES if m == mode),
    )


class FollowedAuthentication:
    """Requires tokens while Knative's flag says so: ``enabled`` is set by :class:`FeaturesWatch`
    (None until the ConfigMap was read), and one attribute read per event decides."""

    def __init__(self, bearer_tokens: Authenticator, retry_after: int) -> None:
        self.bearer_tokens = bearer_tokens
        self.enabled: bool | None = None
        self._retry_after = retry_after

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject | None:
        enabled = self.enabled
        if enabled is None:
            raise Rejection(
                503,
                "Knative's feature flags (ConfigMap config-features) are not read yet, so "
                "whether a token is required is not known; retry shortly",
                headers=(("Retry-After", str(self._retry_after)),),
                reason="features_not_read",
            )
        if not enabled:
            return None
        return await self.bearer_tokens.authenticate(authorization, sink)


class FeaturesWatch:
    """One watch of the ConfigMaps of the system namespace; every change of ``config-features``
    (and its absence) is handed to ``apply``."""

    def __init__(
        self,
        apply: Callable[[KnativeFeatures], None],
        *,
        namespace: str,
        name: str = FEATURES_CONFIG_MAP,
        api_client: Api | None = None,
        source: Source | None = None,
        max_backoff: float = 10.0,
    ) -> None:
        if source is None:
            if api_client is None:
                raise ValueError("give an api_client or a source")
            source = ListWatch(Caller(api_client), CONFIG_MAPS, namespace)
        self._apply = apply
        self._namespace, self._name = namespace, name
        self._lock = threading.Lock()
        self.features: KnativeFeatures | None = None
        self.informer = Informer(
            source,
            name="knative-features",
            # Only the one ConfigMap's data is kept (the namespace holds Knative's others too).
            transform=lambda obj: obj if self._ours(obj) else {"metadata": obj.get("metadata")},
            max_backoff=max_backoff,
        )
        self.informer.add_handlers(
            Handlers(
                on_listed=self._read,
                on_added=self._changed,
                on_modified=lambda _old, new: self._changed(new),
                on_deleted=self._changed,
            )
        )

    def _ours(self, obj: Object) -> bool:
        return bool((obj.get("metadata") or {}).get("name") == self._name)

    def _changed(self, obj: Object) -> None:
        if self._ours(obj):
            self._read()

    def _read(self) -> None:
        # The informer's store already holds the change (a deletion included): reading it rather
        # than the event keeps a list followed by its events from switching back and forth.
        stored = self.informer.get(self._namespace, self._name)
        features = parse_features(None if stored is None else stored.get("data"))
        with self._lock:
            if features == self.features:
                return
            self.features = features
        log.info(
            "Knative's %s/%s: authentication %s, default authorization mode %s",
            self._namespace, self._name, "on" if features.authentication_oidc else "off",
            features.default_authorization_mode,
        )  # fmt: skip
        self._apply(features)

    def start(self) -> None:
        self.informer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.informer.stop(timeout)


def follow(
    authentication: FollowedAuthentication, authorizer: EventPolicyAuthorizer
) -> Callable[[KnativeFeatures], None]:
    """What applying Knative's flags means to the data plane."""

    def apply(features: KnativeFeatures) -> None:
        authorizer.default_mode = features.default_authorization_mode
        authentication.enabled = features.authentication_oidc

    return apply
