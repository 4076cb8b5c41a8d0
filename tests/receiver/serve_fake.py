"""``python -m tests.receiver.serve_fake FAKE_URL PORT [CERT KEY HTTP_PORT]``: the real receiver
server (listeners, signals, drain, lifespan) over a FAKE apiserver with one fixed JobSink."""

from __future__ import annotations

import asyncio
import sys

from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.app import create_app
from receiver.dataplane.handler import DataPlane
from receiver.protocol import WriteProtocol
from receiver.server import serve
from receiver.settings import LimitSettings, ServerSettings
from tests.receiver.conftest import SINK
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import StaticSinks


def main() -> None:
    fake_url, port, *tls = sys.argv[1:]
    settings = ServerSettings(
        host="127.0.0.1",
        port=int(port),
        drain_seconds=1.0,
        shutdown_timeout=10,
        **dict(zip(("tls_cert", "tls_key", "http_port"), tls, strict=False)),  # type: ignore[arg-type]
    )
    caller = Caller(FakeKubeApi.api_client(fake_url))
    jobs = object_client.jobs(caller)
    sinks = StaticSinks({("default", "job-sink-logger"): SINK})
    plane = DataPlane(
        LimitSettings(), sinks, WriteProtocol(jobs, object_client.secrets(caller)), jobs
    )
    asyncio.run(serve(create_app(plane), settings))


if __name__ == "__main__":
    main()
