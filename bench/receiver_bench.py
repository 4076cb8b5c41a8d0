"""Receiver ingest benchmark against the real local apiserver (``make bench-receiver``).

One run measures, in this order:

* **side by side** (``bench/receiver_contenders.py``): our receiver and Knative Eventing's
  ``cmd/jobsink``, in alternating windows of the same events (unique, then the same again), each
  into a namespace of its own: events/s with p50/p99, receiver CPU per unique event and per
  duplicate, peak RSS, kube-apiserver CPU per event, the exactly-once audit, the ratios, as a
  Markdown table; Knative both with raised client limits and as shipped (one short window).
  ``--contenders`` chooses among ``ours,knative,knative-defaults`` (empty: skip the phase),
  ``--profile`` adds py-spy's top entries for our receiver in a unique window;
* **B** — Secret + Job pairs created per second directly with the receiver's own client code
  (``kubeapi.calls``), at the same concurrency, nothing in between: the ceiling for R;
* the load generator's own capacity (GET /healthz), to show it is not the bottleneck;
* **R** — unique events per second through ``jobsink receiver`` (HTTP, parse, render, create);
* **D** — the same events again: duplicates per second;
* p50/p99 ingest latency, receiver RSS (current and peak), a 10x overload, then a full check of
  the namespace: exactly one Job and one Secret per event, every Secret owned by its Job, nothing
  else (``--no-classic`` skips B to here);
* the authentication and authorization phase (``bench/receiver_auth.py``; ``--no-auth`` skips it,
  ``--auth-only`` runs it alone): R and D with ``authentication-oidc`` on and one EventPolicy
  applying, against a plain receiver, in alternating rounds; the CPU of one token verification
  and of one authorization decision.

Usage: ``python bench/receiver_bench.py [--events 1000] [--concurrency 50] [--kubeconfig F]``;
a quick side-by-side run: ``--contenders ours,knative --no-classic --no-auth``.
Without ``--kubeconfig`` it starts its own control plane (etcd + kube-apiserver +
kube-controller-manager) and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_contenders  # noqa: E402
from bench.cluster import cluster  # noqa: E402
from bench.receiver_phases import authentication, classic  # noqa: E402
from bench.receiver_process import cpu_seconds, memory, start_receiver  # noqa: E402
from bench.receiver_sink import event_request, prepare  # noqa: E402

# Other benchmarks import these from here.
__all__ = ["cpu_seconds", "event_request", "main", "memory", "prepare", "start_receiver"]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--overload-events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="B and R alternate this many times")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--contenders",
        default=",".join(receiver_contenders.CONTENDERS),
        help="the side-by-side phase's receivers, comma-separated, from "
        f"{', '.join(receiver_contenders.CONTENDERS)}; empty skips the phase",
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="side by side: turns each of ours and knative get"
    )
    parser.add_argument(
        "--knative-defaults-events",
        type=int,
        default=50,
        help="side by side: events of knative-defaults' one short window (it is rate limited)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="side by side: print py-spy's top entries for our receiver in one more unique window",
    )
    parser.add_argument(
        "--no-classic",
        action="store_true",
        help="skip B, the load generator's floor, R, D, the overload and their namespace check",
    )
    parser.add_argument("--no-auth", action="store_true", help="skip the authentication phase")
    parser.add_argument(
        "--no-event-policy",
        action="store_true",
        help="authentication phase without the EventPolicy (authentication alone)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="authentication phase with two plain receivers (the same token sent to both): "
        "how far apart the method puts two identical receivers",
    )
    parser.add_argument(
        "--auth-only",
        action="store_true",
        help="run the authentication phase alone (no B, R, D, overload, namespace check or "
        "side-by-side phase)",
    )
    args = parser.parse_args()
    args.contenders = receiver_contenders.parse_contenders(args.contenders)
    if args.auth_only:
        args.no_classic, args.contenders = True, []
    return args


def main() -> None:
    args = parse_arguments()
    figures: dict[str, Any] = {}
    with cluster(args.kubeconfig) as kubeconfig:
        if args.contenders:
            settings = receiver_contenders.Settings(
                contenders=args.contenders,
                events=args.events,
                concurrency=args.concurrency,
                repeats=args.repeats,
                defaults_events=args.knative_defaults_events,
                max_inflight=args.max_inflight,
                profile=args.profile,
            )
            figures["side_by_side"] = receiver_contenders.side_by_side(kubeconfig, settings)
        if not args.no_classic:
            # Unless --no-auth, the authentication phase runs inside: its events are counted by
            # the classic phase's check of the namespace they share.
            figures = classic(kubeconfig, prepare(kubeconfig), args) | figures
        elif not args.no_auth:
            figures |= authentication(kubeconfig, prepare(kubeconfig), args)
    report(figures, args.json)


def report(figures: dict[str, Any], path: Path | None) -> None:
    print(json.dumps(figures, indent=2))
    if path:
        path.write_text(json.dumps(figures, indent=2) + "\n")
    side_by_side = figures.get("side_by_side") or {}
    if side_by_side:
        print("\n" + side_by_side["table"])
    for line in side_by_side.get("profile_ours_unique", []):
        print(line)


if __name__ == "__main__":
    main()
