"""``jobsink send`` and ``jobsink status`` against the real receiver and apiserver.

The CLI's own tests pin its wire format against a loopback stub; these show the two commands and
the receiver agree: the printed Location resolves, duplicates are reported as such, exit codes
follow what the receiver answered.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.exits import ExitCode
from tests.e2e.services import RunningReceiver
from tests.e2e.support import EXAMPLES, JOBSINK

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
SEED_EVENT = [
    "--source=my/curl/command",
    "--type=my.demo.event",
    "--id=123",
    '--data={"details":"JobSinkDemo"}',
]


def _jobsink(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JOBSINK), *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture
def sink(kubectl: Kubectl, namespace: str, receiver: RunningReceiver) -> str:
    """``<namespace>/job-sink-logger`` applied from the example (no webhook needed to store it)."""
    kubectl("apply", "-n", namespace, "-f", str(Path(EXAMPLES) / "job-sink-logger.yaml"))
    return f"{namespace}/job-sink-logger"


def _field(output: str, prefix: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


def test_send_creates_then_reports_the_duplicate(
    sink: str, receiver: RunningReceiver, kubectl: Kubectl
) -> None:
    first = _jobsink("send", sink, f"--url={receiver.url}", *SEED_EVENT)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("202 Accepted\n")
    job = _field(first.stdout, "Job: ")
    assert job.endswith(" (created)")
    again = _jobsink("send", sink, f"--url={receiver.url}", *SEED_EVENT, "--structured")
    assert again.returncode == 0, again.stderr
    assert _field(again.stdout, "Job: ") == job.replace("(created)", "(duplicate)")
    assert _field(again.stdout, "Location: ") == _field(first.stdout, "Location: ")
    namespace, name = job.split(" ")[0].split("/")
    kubectl("get", "job", name, "-n", namespace)


def test_status_of_the_printed_location(sink: str, receiver: RunningReceiver) -> None:
    sent = _jobsink("send", sink, f"--url={receiver.url}", *SEED_EVENT)
    location = _field(sent.stdout, "Location: ")
    result = _jobsink("status", location)
    # No kubelet here: the Job never finishes, so the answer is "still running".
    assert result.returncode == ExitCode.PENDING, result.stderr
    assert result.stdout.startswith("Running: job ")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["send", "{ns}/no-such-sink", *SEED_EVENT],
            ExitCode.NOT_FOUND,
            "error: 404 Not Found: JobSink {ns}/no-such-sink not found",
            id="send-unknown-sink",
        ),
        pytest.param(
            ["status", "/namespaces/{ns}/name/job-sink-logger/sources/nobody/ids/0"],
            ExitCode.NOT_FOUND,
            "error: 404 Not Found",
            id="status-unknown-event",
        ),
    ],
)
def test_receiver_refusals_become_exit_codes(
    sink: str, receiver: RunningReceiver, args: list[str], code: ExitCode, message: str
) -> None:
    namespace = sink.split("/")[0]
    result = _jobsink(*(arg.replace("{ns}", namespace) for arg in args), f"--url={receiver.url}")
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stderr.startswith(message.replace("{ns}", namespace))
    assert len(result.stderr.strip().splitlines()) == 1


def test_any_attribute_value_survives_binary_mode(
    sink: str, receiver: RunningReceiver, kubectl: Kubectl
) -> None:
    """Non-ASCII, spaces, quotes and % are percent-encoded in ce- headers and decoded back."""
    source = 'café "quoted" 100% / ünïcode'
    sent = _jobsink(
        "send", sink, f"--url={receiver.url}", f"--source={source}", "--type=t", "--id=1"
    )
    assert sent.returncode == 0, sent.stderr
    namespace, name = _field(sent.stdout, "Job: ").split(" ")[0].split("/")
    encoded = kubectl("get", "secret", name, "-n", namespace, "-o", "jsonpath={.data.event}").stdout
    assert json.loads(base64.b64decode(encoded))["source"] == source
