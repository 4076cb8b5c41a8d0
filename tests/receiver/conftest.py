"""Shared fixtures: a FAKE apiserver, the write protocol over it, and a JobSink dict."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.protocol import WriteProtocol
from tests.receiver.fake_kube import FakeKubeApi

SINK: dict[str, Any] = {
    "apiVersion": "sinks.knative.dev/v1alpha1",
    "kind": "JobSink",
    "metadata": {"name": "job-sink-logger", "namespace": "default", "uid": "sink-uid-1"},
    "spec": {
        "job": {
            "spec": {
                "completions": 1,
                "parallelism": 1,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "main",
                                "image": "docker.io/library/bash:5",
                                "command": ["cat"],
                                "args": ["/etc/jobsink-event/event"],
                            }
                        ],
                    }
                },
            }
        }
    },
}


@pytest.fixture
def sink() -> dict[str, Any]:
    return copy.deepcopy(SINK)


@pytest.fixture
def fake() -> FakeKubeApi:
    return FakeKubeApi()


@pytest.fixture
def fake_url(fake: FakeKubeApi) -> Iterator[str]:
    with fake.serve() as url:
        yield url


@pytest.fixture
def fake_client(fake_url: str) -> Iterator[client.ApiClient]:
    api = FakeKubeApi.api_client(fake_url)
    yield api
    api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def caller(fake_client: client.ApiClient) -> Caller:
    # Short per-attempt timeout so that "stall" faults are timeouts without slowing the suite.
    return Caller(fake_client, attempt_timeout=0.5, base_backoff=0.01, max_backoff=0.05)


@pytest.fixture
def protocol(caller: Caller) -> WriteProtocol:
    return WriteProtocol(object_client.jobs(caller), object_client.secrets(caller))
