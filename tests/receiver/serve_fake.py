"""``python -m tests.receiver.serve_fake FAKE_URL PORT [MODE HTTPS_PORT CERT KEY]``: the real
receiver server (listeners, signals, drain, lifespan, transport modes) over a FAKE apiserver with
one fixed JobSink; MODE is a ``transport_encryption`` value, the pair is served from files."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from certs.live import LiveContext
from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.app import create_app
from receiver.certificates import from_files
from receiver.dataplane.handler import DataPlane
from receiver.protocol import WriteProtocol
from receiver.server import serve
from receiver.settings import LimitSettings, ServerSettings
from tests.receiver.conftest import SINK
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import StaticSinks


def main() -> None:
    fake_url, port, *tls = sys.argv[1:]
    mode, https_port, cert, key = tls or ("disabled", "0", "", "")
    settings = ServerSettings(
        host="127.0.0.1",
        port=int(port),
        transport_encryption=mode,  # type: ignore[arg-type]
        https_port=int(https_port),
        drain_seconds=1.0,
        shutdown_timeout=10,
    )
    certificates = (
        from_files(LiveContext(), Path(cert), Path(key), None) if settings.https else None
    )
    caller = Caller(FakeKubeApi.api_client(fake_url))
    jobs = object_client.jobs(caller)
    sinks = StaticSinks({("default", "job-sink-logger"): SINK})
    plane = DataPlane(
        LimitSettings(), sinks, WriteProtocol(jobs, object_client.secrets(caller)), jobs
    )
    https_base = f"https://127.0.0.1:{https_port}"
    asyncio.run(serve(create_app(plane, (), certificates), settings, certificates, https_base))


if __name__ == "__main__":
    main()
