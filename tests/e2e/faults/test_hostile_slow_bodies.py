"""Slow senders must not deny service: 200 bodies at 1 byte/s, and normal events still pass.

The attack renews itself (a connection the receiver closes is opened again), as a real one would;
the receiver's in-flight slots are for Kubernetes calls, not for waiting on a client.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import pytest

from controlplane.ports import LOOPBACK
from tests.e2e.faults.rawhttp import CRLF, head
from tests.e2e.faults.sender import percentile
from tests.e2e.faults.targets import Target

pytestmark = pytest.mark.timeout(300)

SLOW_CONNECTIONS = 200
NORMAL_EVENTS = 100


@dataclass
class Attack:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set once every slow connection has sent its head (and so holds what a request holds).
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    heads_sent: int = 0


async def _slow_body(target: Target, attack: Attack) -> None:
    """Keep one connection sending a declared 1,000-byte body at one byte a second; when the
    server closes it, open another (the attack renews itself)."""
    slow_head = head("POST", target.path, [*target.headers(), ("content-length", "1000")])
    while not attack.stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(LOOPBACK, target.endpoint.port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        closed = asyncio.create_task(reader.read())
        stopped = asyncio.create_task(attack.stop.wait())
        try:
            writer.write(slow_head + CRLF * 2)
            attack.heads_sent += 1
            if attack.heads_sent >= SLOW_CONNECTIONS:
                attack.all_in.set()
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                done, _ = await asyncio.wait({closed, stopped}, timeout=1.0)
                if done:
                    break
        except OSError:
            pass
        finally:
            closed.cancel()
            stopped.cancel()
            writer.close()


async def _slow_bodies_then_normal_events(target: Target) -> list[tuple[int, float]]:
    attack = Attack()
    slow = [asyncio.create_task(_slow_body(target, attack)) for _ in range(SLOW_CONNECTIONS)]
    await asyncio.wait_for(attack.all_in.wait(), timeout=60)
    await asyncio.sleep(1.0)
    answers: list[tuple[int, float]] = []
    gate = asyncio.Semaphore(10)
    async with httpx.AsyncClient(base_url=target.url, timeout=15, trust_env=False) as http:

        async def one() -> None:
            async with gate:
                began = time.monotonic()
                answer = await http.post(
                    target.path, content=target.body(), headers=dict(target.headers()[1:])
                )
                answers.append((answer.status_code, time.monotonic() - began))

        await asyncio.gather(*(one() for _ in range(NORMAL_EVENTS)))
    attack.stop.set()
    await asyncio.gather(*slow)
    return answers


def test_slow_bodies_do_not_deny_service_to_normal_events(receiver_target: Target) -> None:
    answers = asyncio.run(_slow_bodies_then_normal_events(receiver_target))
    codes = sorted({code for code, _ in answers})
    counts = {code: sum(1 for c, _ in answers if c == code) for code in codes}
    p99 = percentile([seconds for _, seconds in answers], 0.99)
    assert (counts, p99 < 1.0) == ({202: NORMAL_EVENTS}, True), (
        f"with {SLOW_CONNECTIONS} slow bodies open, {NORMAL_EVENTS} events got {counts}, "
        f"p99 {p99:.2f}s"
    )
