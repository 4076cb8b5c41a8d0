"""The seed document's story, told against the local stack: what ``make run`` shows a newcomer.

Each step prints the command a user would type and what came back, then checks the outcome
the seed document promises; a broken promise raises :class:`StoryError` naming the step.
With a local node the Job's Pod runs and ``kubectl logs`` prints the event, as in the document;
without one the event is shown from the Job's Secret instead.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli import endpoint
from cli.stack import REPO_ROOT, Stack, jobsink_executable
from jobsink.names import LABEL_SINK_NAME

SINK = "job-sink-logger"
NAMESPACE = "default"
EXAMPLE = Path("examples") / "job-sink-logger.yaml"
#: The seed's curl: `-H` headers and `-d` body, byte for byte.
SEED_HEADERS = {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-source": "my/curl/command",
    "ce-type": "my.demo.event",
    "ce-id": "123",
}
SEED_BODY = '{"details":"JobSinkDemo"}'
#: What the seed document's Job prints (`kubectl logs`): the event file's content.
SEED_EVENT_FILE = (
    '{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
    '"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
)
#: The rejection shown in step 6: the seed's logger with restartPolicy Always, which a Job forbids
#: (Jobs need Never or OnFailure), so a sink like this could never create a Job.
INVALID_SINK = """\
apiVersion: sinks.knative.dev/v1alpha1
kind: JobSink
metadata:
  name: job-sink-invalid
spec:
  job:
    spec:
      template:
        spec:
          restartPolicy: Always
          containers:
            - name: main
              image: docker.io/library/bash:5
              command: [ "cat" ]
              args: [ "/etc/jobsink-event/event" ]
"""

Print = Callable[[str], None]


class StoryError(RuntimeError):
    """A step did not turn out as the seed document says it should."""


@dataclass
class Story:
    stack: Stack
    out: Print = print
    ready_timeout: float = 60.0
    completion_timeout: float = 120.0
    location: str = ""

    def _kubectl(
        self, *args: str, input: str | None = None, check: bool = True, shown: str = ""
    ) -> str:
        """Run kubectl, echoing the command as the user would type it and its output."""
        shown = shown or "kubectl " + " ".join(shlex.quote(a) for a in args)
        self.out(f"$ {shown}" if input is None else f"$ cat <<EOF | {shown}\n{input}EOF")
        result = self.stack.plane.kubectl(*args, input=input, check=False)
        text = (result.stdout + result.stderr).rstrip()
        if text:
            self.out(text)
        if check and result.returncode != 0:
            raise StoryError(f"`{shown}` failed: {result.stderr.strip()}")
        return result.stdout if result.returncode == 0 else result.stderr

    def _heading(self, number: int, title: str) -> None:
        self.out(f"\n── {number}. {title} " + "─" * max(0, 60 - len(title)))

    def _post_seed_event(self) -> httpx.Response:
        url = f"{self.stack.receiver_url}/{NAMESPACE}/{SINK}"
        # Shown as the documentation writes it, one header per line.
        lines = [f'   -H "{name}: {value}" \\' for name, value in SEED_HEADERS.items()]
        self.out(
            "\n".join(["$ curl -X POST -v \\", *lines, f"   -d '{SEED_BODY}' \\", f"   {url}"])
        )
        try:
            response = httpx.post(url, headers=SEED_HEADERS, content=SEED_BODY, trust_env=False)
        except httpx.HTTPError as error:
            raise StoryError(f"cannot reach the receiver at {url}: {error}") from None
        self.out(f"< HTTP/1.1 {response.status_code} {response.reason_phrase}")
        if "location" in response.headers:
            self.out(f"< Location: {response.headers['location']}")
        if response.status_code != httpx.codes.ACCEPTED:
            raise StoryError(f"the receiver answered {response.status_code}: {response.text}")
        return response

    def _jobs(self) -> list[str]:
        names = self.stack.plane.kubectl(
            "get", "jobs", "-n", NAMESPACE, "-l", f"{LABEL_SINK_NAME}={SINK}", "-o", "name"
        ).stdout.split()
        return [name.removeprefix("job.batch/") for name in names]

    def create(self) -> None:
        self._heading(1, "Create the JobSink (examples/job-sink-logger.yaml)")
        self.out((REPO_ROOT / EXAMPLE).read_text().rstrip())
        self._kubectl(
            "apply",
            "-n",
            NAMESPACE,
            "-f",
            str(REPO_ROOT / EXAMPLE),
            shown=f"kubectl apply -f {EXAMPLE}",
        )

    def ready(self) -> None:
        self._heading(2, "Verify the JobSink is ready")
        timeout = f"--timeout={self.ready_timeout:.0f}s"
        condition = "--for=condition=Ready"
        self._kubectl("wait", condition, timeout, f"jobsinks.sinks.knative.dev/{SINK}")
        listing = self._kubectl("get", "jobsinks.sinks.knative.dev")
        if f"{self.stack.receiver_url}/{NAMESPACE}/{SINK}" not in listing:
            raise StoryError("the JobSink's URL is not the receiver's address")

    def trigger(self) -> None:
        self._heading(3, "Trigger the JobSink with the seed's event")
        self.location = self._post_seed_event().headers.get("location", "")

    def inspect(self) -> None:
        self._heading(4, "A Job was created, with the event mounted as a file")
        self._kubectl("get", "jobs", "-n", NAMESPACE, "-l", f"{LABEL_SINK_NAME}={SINK}")
        jobs = self._jobs()
        if len(jobs) != 1:
            raise StoryError(f"expected one Job for {SINK}, found {len(jobs)}")
        (job,) = jobs
        path = self._kubectl(
            "get", "job", job, "-n", NAMESPACE, "-o",
            "jsonpath={.spec.template.spec.containers[0].volumeMounts[?(@.name==\"jobsink-event\")].mountPath}",
        ).strip()  # fmt: skip
        self.out(f"\nThe event file is mounted at {path or '/etc/jobsink-event'}/event")
        if self.stack.has_node:
            self._logs(job)
        else:
            self._secret(job)

    def _logs(self, job: str) -> None:
        """The document's step 5 verbatim: the Pod runs and its log is the event."""
        timeout = f"--timeout={self.completion_timeout:.0f}s"
        self._kubectl("wait", "--for=condition=complete", timeout, f"job/{job}", "-n", NAMESPACE)
        self._kubectl("get", "pods", "-n", NAMESPACE, "-l", f"job-name={job}")
        logs = self._kubectl("logs", f"job/{job}", "-n", NAMESPACE, shown=f"kubectl logs job/{job}")
        if logs.rstrip("\n") != SEED_EVENT_FILE:
            raise StoryError(
                f"`kubectl logs job/{job}` printed {logs!r}, not the document's event "
                f"{SEED_EVENT_FILE!r}"
            )
        self.out("✓ the seed document's expected output, byte for byte")
        self._job_state(wait_for_end=True)

    def _secret(self, job: str) -> None:
        self.out("Its content, from the Job's Secret (what `kubectl logs` would print):")
        self.out(f"$ kubectl get secret {job} -o jsonpath='{{.data.event}}' | base64 -d")
        encoded = self.stack.plane.kubectl(
            "get", "secret", job, "-n", NAMESPACE, "-o", "jsonpath={.data.event}"
        ).stdout
        content = base64.b64decode(encoded).decode("utf-8")
        self.out(content)
        if json.loads(content) != json.loads(SEED_EVENT_FILE):
            raise StoryError(f"the event file differs from the seed's: {content}")
        self.out("✓ the seed document's expected output")
        self._job_state()
        self.out("(No node runs locally: the Pod stays Pending, so the Job never completes.)")

    def _job_state(self, *, wait_for_end: bool = False) -> None:
        """The receiver's answer for the Location, through the CLI a user would run.

        ``wait_for_end``: the Job has completed, but the receiver learns it from its own watch
        a moment later, so ask with ``--wait`` (bounded) and insist on success.
        """
        if not self.location:
            return
        url = self.stack.receiver_url
        shown_url = "" if url == endpoint.DEFAULT_URL else f" --url {url}"
        waiting = ["--wait", "--interval=0.5", "--wait-timeout=30"] if wait_for_end else []
        self.out(f"\n$ jobsink status {self.location}{shown_url}{' --wait' if waiting else ''}")
        result = subprocess.run(
            [jobsink_executable(), "status", self.location, f"--url={url}", *waiting],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        self.out((result.stdout + result.stderr).rstrip())
        if wait_for_end and result.returncode != 0:
            raise StoryError(f"`jobsink status` did not report success: {result.stdout.strip()}")

    def duplicate(self) -> None:
        self._heading(5, "The same event again (same source and id) creates nothing")
        self._post_seed_event()
        time.sleep(0.5)
        self._kubectl("get", "jobs", "-n", NAMESPACE, "-l", f"{LABEL_SINK_NAME}={SINK}")
        if len(self._jobs()) != 1:
            raise StoryError("a second Job was created for the same event")
        self.out("✓ still exactly one Job")

    def reject(self) -> None:
        self._heading(6, "An invalid JobSink is rejected at admission")
        self._kubectl("apply", "-f", "-", input=INVALID_SINK, check=False)
        stored = self.stack.plane.kubectl(
            "get", "jobsinks.sinks.knative.dev", "job-sink-invalid", "-n", NAMESPACE, check=False
        )
        if stored.returncode == 0:
            raise StoryError("the invalid JobSink was accepted")
        self.out("✓ rejected before anything was stored")

    def tell(self) -> None:
        for step in (self.create, self.ready, self.trigger, self.inspect, self.duplicate):
            step()
        self.reject()
