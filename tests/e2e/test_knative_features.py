"""The receiver's watch of Knative's ``config-features`` against the real apiserver: absent, then
created, changed and deleted, each state reaches the data plane's authentication and default
authorization mode (``receiver.knative_features``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from receiver.auth.policy_cache import NoPolicies
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.knative_features import (
    FEATURES_CONFIG_MAP,
    FeaturesWatch,
    FollowedAuthentication,
    follow,
)
from receiver.knative_features import KnativeFeatures as Features


class NoTokens:
    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> None:
        return None


def config_map(name: str, data: dict[str, str]) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_data_plane_follows_config_features(
    api_client: client.ApiClient, namespace: str
) -> None:
    core = client.CoreV1Api(api_client)
    followed = FollowedAuthentication(NoTokens(), retry_after=1)
    authorizer = EventPolicyAuthorizer(NoPolicies(), "allow-all")
    seen: list[Features] = []
    apply = follow(followed, authorizer)

    def record(features: Features) -> None:
        seen.append(features)
        apply(features)

    # Another ConfigMap of the namespace is listed too, and changes nothing.
    core.create_namespaced_config_map(namespace, config_map("config-logging", {"zap": "{}"}))
    watch = FeaturesWatch(record, namespace=namespace, api_client=api_client, max_backoff=1.0)
    watch.start()
    try:
        eventually(lambda: followed.enabled is not None, "the first list")
        assert (followed.enabled, authorizer.default_mode) == (False, "allow-same-namespace")

        flags = {"authentication-oidc": "enabled", "default-authorization-mode": "deny-all"}
        core.create_namespaced_config_map(namespace, config_map(FEATURES_CONFIG_MAP, flags))
        eventually(lambda: followed.enabled is True, "authentication on")
        assert authorizer.default_mode == "deny-all"

        core.patch_namespaced_config_map(
            FEATURES_CONFIG_MAP, namespace, {"data": {"authentication-oidc": "disabled"}}
        )
        eventually(lambda: followed.enabled is False, "authentication off")

        core.patch_namespaced_config_map(
            "config-logging", namespace, {"data": {"zap": '{"level": "debug"}'}}
        )
        core.patch_namespaced_config_map(
            FEATURES_CONFIG_MAP, namespace, {"data": {"authentication-oidc": "enabled"}}
        )
        eventually(lambda: followed.enabled is True, "authentication on again")

        core.delete_namespaced_config_map(FEATURES_CONFIG_MAP, namespace)
        eventually(lambda: followed.enabled is False, "Knative's defaults once deleted")
        assert str(authorizer.default_mode) == "allow-same-namespace"
    finally:
        watch.stop()
    # One application per change of the flags: the other ConfigMap's change applied nothing.
    assert seen == [
        Features(),
        Features(authentication_oidc=True, default_authorization_mode="deny-all"),
        Features(default_authorization_mode="deny-all"),
        Features(authentication_oidc=True, default_authorization_mode="deny-all"),
        Features(),
    ]
