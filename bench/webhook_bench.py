"""Admission webhook benchmark: latency at fixed arrival rates and maximum rate, vs a TLS echo.

    .venv/bin/python bench/webhook_bench.py            # or: make bench-webhook
    .venv/bin/python bench/webhook_bench.py --quick    # shorter phases

What it does, in one run:
1. builds ``bench/loadgen`` (Go, standard library only) into ~/.cache/jobsink/bench/
   ($JOBSINK_CACHE_DIR/bench/) if needed;
2. writes a CA and a serving certificate for 127.0.0.1;
3. starts ONE webhook process (``bench/webhook_server.py``: the real app, uvicorn + uvloop +
   httptools over TLS, dry-run OFF, plus ``POST /echo`` on the same stack as the floor, and
   ``POST /echo-asgi``, the floor without the framework);
4. for /echo, /validation and /defaulting: open loop at 200/s and 500/s (latency from each
   request's scheduled time, so stalls are charged);
5. then the closed loops over 16 keep-alive connections for the maximum rate, in ``ROUNDS``
   alternating rounds (echo, echo-asgi, validation, defaulting, echo, ...), so a change of the
   machine's load between phases weighs on every endpoint alike; each endpoint's rate is its
   requests over its measured seconds of all rounds;
6. samples the server's RSS throughout and prints a table, the targets and whether each is met.
The body is a ~4 KB AdmissionReview of the seed's job-sink-success JobSink (``bench/reviews.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reviews  # a sibling helper, not a package

from certs.authority import CertificateAuthority
from controlplane.binaries import cache_root

HERE = Path(__file__).resolve().parent
LOADGEN_SRC = HERE / "loadgen"
#: Beside the control-plane binaries ($JOBSINK_CACHE_DIR, else ~/.cache/jobsink).
LOADGEN = cache_root() / "bench" / "loadgen"
ENDPOINTS = ("echo", "echo-asgi", "validation", "defaulting")
#: Measured in closed loop only: the floor of the transport, for the record.
CLOSED_ONLY = frozenset({"echo-asgi"})
#: Closed-loop rounds per endpoint, alternating between endpoints.
ROUNDS = 3

#: Targets on a 2-core machine, one webhook process.
TARGETS = {
    "p99_ms_at_200": 15.0,
    "p99_ms_at_500": 50.0,
    "p50_vs_echo": 2.0,
    "rss_mb": 150.0,
}
#: Closed-loop rate of each admission endpoint over echo's (the FastAPI route of the same app).
MAX_RATE_VS_ECHO = {"validation": 0.5, "defaulting": 0.8}


def build_loadgen() -> Path:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    sources = [LOADGEN_SRC / "main.go", LOADGEN_SRC / "go.mod"]
    if LOADGEN.exists() and all(LOADGEN.stat().st_mtime > s.stat().st_mtime for s in sources):
        return LOADGEN
    if not Path(go).exists():
        sys.exit("bench: needs the Go toolchain to build bench/loadgen (apt-get install golang)")
    LOADGEN.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "build", "-o", str(LOADGEN), "."],
        cwd=LOADGEN_SRC,
        check=True,
        env={**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"},
    )
    return LOADGEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RssSampler:
    pid: int
    peak_kb: int = 0
    samples: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _read(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def run(self) -> None:
        while not self.stop.wait(0.25):
            try:
                rss = self._read()
            except OSError:
                return
            self.samples.append(rss)
            self.peak_kb = max(self.peak_kb, rss)


class Server:
    def __init__(self, workdir: Path) -> None:
        ca = CertificateAuthority.create()
        pair = ca.issue_server(dns_names=["localhost"], ips=["127.0.0.1"])
        self.ca_file = workdir / "ca.crt"
        self.ca_file.write_bytes(ca.cert_pem)
        (workdir / "tls.crt").write_bytes(pair.cert_pem)
        (workdir / "tls.key").write_bytes(pair.key_pem)
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "webhook_server.py"),
                f"--port={self.port}",
                f"--tls-cert={workdir / 'tls.crt'}",
                f"--tls-key={workdir / 'tls.key'}",
            ],
            stderr=open(workdir / "server.log", "wb"),  # noqa: SIM115  # lives as long as the server
        )
        self.rss = RssSampler(self.process.pid)
        self._wait_ready()
        threading.Thread(target=self.rss.run, daemon=True).start()

    def url(self, endpoint: str) -> str:
        return f"https://127.0.0.1:{self.port}/{endpoint}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        with httpx.Client(verify=ssl.create_default_context(cafile=str(self.ca_file))) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    sys.exit("bench: the webhook server exited; see server.log")
                try:
                    if client.get(self.url("readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    time.sleep(0.1)
        sys.exit("bench: the webhook server did not become ready")

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (from /proc; 100 ticks per second)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        self.rss.stop.set()
        self.process.terminate()
        self.process.wait(timeout=10)


def run_loadgen(
    loadgen: Path,
    server: Server,
    endpoint: str,
    body: Path,
    *,
    rate: float,
    seconds: float,
    warmup: float = 2.0,
) -> dict[str, Any]:
    command = [
        str(loadgen),
        f"-url={server.url(endpoint)}",
        f"-ca={server.ca_file}",
        f"-body={body}",
        f"-rate={rate}",
        f"-duration={seconds}s",
        f"-warmup={warmup}s",
        "-connections=" + ("16" if rate == 0 else "512"),
    ]
    cpu_before = server.cpu_seconds()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    cpu_used = server.cpu_seconds() - cpu_before
    result: dict[str, Any] = json.loads(out)
    result["endpoint"] = endpoint
    result["server_cpu_ms_per_request"] = cpu_ms_per_request(
        cpu_used, result["requests"], warmup * (rate or result["achieved_rate"])
    )
    result["load_average"] = os.getloadavg()[0]
    return result


def cpu_ms_per_request(cpu_seconds: float, measured: int, warmup_requests: float) -> float:
    """The server's CPU per request: its CPU time covers the warm-up too, so its requests
    (estimated from the rate) count with the measured ones."""
    return 1000 * cpu_seconds / max(measured + warmup_requests, 1)


def combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One closed-loop result from several rounds of one endpoint: the rate is all requests
    over all measured seconds; counts add up; CPU per request is weighted by requests; the
    percentiles, which cannot be merged exactly, are the median of the rounds' values (the
    maximum is the maximum)."""

    def median(key: str) -> float:
        values = sorted(r[key] for r in rounds)
        middle = len(values) // 2
        return float(
            values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
        )

    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    statuses: dict[str, int] = {}
    for r in rounds:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    combined = dict(rounds[0])
    combined.update(
        requests=requests,
        seconds=seconds,
        achieved_rate=requests / seconds if seconds else 0.0,
        errors=sum(r["errors"] for r in rounds),
        skipped=sum(r["skipped"] for r in rounds),
        statuses=statuses,
        p50_ms=median("p50_ms"),
        p90_ms=median("p90_ms"),
        p99_ms=median("p99_ms"),
        p999_ms=median("p999_ms"),
        max_ms=max(r["max_ms"] for r in rounds),
        generator_cpu_seconds=sum(r["generator_cpu_seconds"] for r in rounds),
        server_cpu_ms_per_request=sum(
            r["server_cpu_ms_per_request"] * r["requests"] for r in rounds
        )
        / max(requests, 1),
        load_average=max(r["load_average"] for r in rounds),
        rounds=len(rounds),
    )
    return combined


def check_answers(server: Server, body: bytes) -> None:
    """The bench is only meaningful if the webhook answers as in production."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(server.ca_file))) as client:
        headers = {"content-type": "application/json"}
        validation = client.post(server.url("validation"), content=body, headers=headers).json()
        defaulting = client.post(server.url("defaulting"), content=body, headers=headers).json()
    assert validation["response"]["allowed"] is True, validation
    assert "patch" in defaulting["response"], defaulting


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| endpoint | load | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | errors "
        "| server CPU ms/req | loadgen CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        load = (
            f"open {r['target_rate']:.0f}/s"
            if r["mode"] == "open"
            else f"closed, 16 conns, {r.get('rounds', 1)} rounds"
        )
        errors = r["errors"] + r["skipped"]
        lines.append(
            f"| {r['endpoint']} | {load} | {r['achieved_rate']:.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.2f} | {errors} | "
            f"{r['server_cpu_ms_per_request']:.2f} | {r['generator_cpu_seconds']:.1f} |"
        )
    return "\n".join(lines)


def verdicts(results: list[dict[str, Any]], rss_mb: float) -> list[str]:
    def pick(endpoint: str, mode: str, rate: float = 0) -> dict[str, Any]:
        return next(
            r
            for r in results
            if r["endpoint"] == endpoint and r["mode"] == mode and r["target_rate"] == rate
        )

    out = []
    for endpoint in ("validation", "defaulting"):
        at200, at500 = pick(endpoint, "open", 200), pick(endpoint, "open", 500)
        echo200 = pick("echo", "open", 200)
        fast_503 = at500["statuses"].get("503", 0) > 0 and at500["max_ms"] < 100
        checks = [
            (
                f"{endpoint}: 200/s p99 {at200['p99_ms']:.1f} ms <= 15 and 0 errors",
                at200["p99_ms"] <= TARGETS["p99_ms_at_200"] and at200["errors"] == 0,
            ),
            (
                f"{endpoint}: 500/s p99 {at500['p99_ms']:.1f} ms <= 50 (or fast 503s)",
                at500["p99_ms"] <= TARGETS["p99_ms_at_500"] or fast_503,
            ),
            (
                f"{endpoint}: 200/s p50 {at200['p50_ms']:.2f} ms <= 2 x echo "
                f"{echo200['p50_ms']:.2f} ms",
                at200["p50_ms"] <= TARGETS["p50_vs_echo"] * echo200["p50_ms"],
            ),
        ]
        closed, echo_closed = pick(endpoint, "closed"), pick("echo", "closed")
        ratio = closed["achieved_rate"] / max(echo_closed["achieved_rate"], 1)
        target = MAX_RATE_VS_ECHO[endpoint]
        floor = next((r for r in results if r["endpoint"] == "echo-asgi"), None)
        bare = (
            f"; {closed['achieved_rate'] / max(floor['achieved_rate'], 1):.2f} x echo-asgi "
            f"{floor['achieved_rate']:.0f}/s"
            if floor
            else ""
        )
        checks.append(
            (
                f"{endpoint}: max {closed['achieved_rate']:.0f}/s = {ratio:.2f} x echo "
                f"{echo_closed['achieved_rate']:.0f}/s (>= {target}){bare}",
                ratio >= target,
            )
        )
        out += [f"{'met ' if ok else 'MISS'} {text}" for text, ok in checks]
    rss_ok = rss_mb <= TARGETS["rss_mb"]
    out.append(f"{'met ' if rss_ok else 'MISS'} server peak RSS {rss_mb:.0f} MB <= 150")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases instead of 20 s")
    parser.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help="comma-separated subset of " + ",".join(ENDPOINTS) + " (targets need echo, "
        "validation and defaulting)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else 20.0

    loadgen = build_loadgen()
    with tempfile.TemporaryDirectory(prefix="jobsink-bench-") as tmp:
        workdir = Path(tmp)
        body = json.dumps(reviews.review(), separators=(",", ":")).encode()
        body_file = workdir / "review.json"
        body_file.write_bytes(body)
        server = Server(workdir)
        try:
            check_answers(server, body)
            endpoints = args.endpoints.split(",")
            results = []
            for endpoint in endpoints:
                if endpoint in CLOSED_ONLY:
                    continue
                for rate in (200.0, 500.0):
                    print(f"bench: {endpoint} {rate:.0f}/s ...", file=sys.stderr, flush=True)
                    results.append(
                        run_loadgen(
                            loadgen, server, endpoint, body_file, rate=rate, seconds=seconds
                        )
                    )
            rounds: dict[str, list[dict[str, Any]]] = {endpoint: [] for endpoint in endpoints}
            for round_ in range(ROUNDS):
                for endpoint in endpoints:
                    print(
                        f"bench: {endpoint} closed loop, round {round_ + 1}/{ROUNDS} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    rounds[endpoint].append(
                        run_loadgen(
                            loadgen,
                            server,
                            endpoint,
                            body_file,
                            rate=0.0,
                            seconds=max(seconds / ROUNDS, 3.0),
                            warmup=1.0,
                        )
                    )
            results += [combine_rounds(rounds[endpoint]) for endpoint in endpoints]
            rss_mb = server.rss.peak_kb / 1024
        finally:
            server.stop()
    print(
        f"\nAdmissionReview body: {len(body)} bytes; {os.cpu_count()} CPUs; "
        f"{seconds:.0f} s per phase after 2 s warm-up; dry-run off\n"
    )
    loads = [r["load_average"] for r in results]
    print(f"machine load average (1 min) after each phase: {min(loads):.1f} to {max(loads):.1f}\n")
    print(table(results))
    print(f"\nserver peak RSS: {rss_mb:.0f} MB\n")
    if {"echo", "validation", "defaulting"} <= set(args.endpoints.split(",")):
        print("\n".join(verdicts(results, rss_mb)))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "rss_mb": rss_mb}, indent=2))


if __name__ == "__main__":
    main()
