"""A storm with a fault in the middle of it: the shape of every fault test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tests.e2e.faults.events import SentEvent
from tests.e2e.faults.injectors import Fault
from tests.e2e.faults.sender import RetryingSender, RetryPolicy, Tally


@dataclass(frozen=True)
class StormResult:
    tally: Tally
    #: Events accepted when the fault began, and when it had been repaired.
    accepted_at_fault: int
    accepted_at_repair: int
    fault_seconds: float

    def describe(self, fault: Fault, total: int) -> str:
        return (
            f"{fault.name} began after {self.accepted_at_fault}/{total} events were accepted, "
            f"lasted {self.fault_seconds:.1f}s, repaired at {self.accepted_at_repair}/{total}; "
            f"sender: {self.tally.summary()}"
        )


def storm_through(
    targets: Sequence[str],
    path: str,
    events: Sequence[SentEvent],
    *,
    concurrency: int,
    fault: Fault,
    after_accepted: int,
    policy: RetryPolicy | None = None,
) -> StormResult:
    """Send ``events`` with a retrying sender; inject ``fault`` once ``after_accepted`` of them
    are accepted (in a thread, while the storm goes on); return when every event is settled."""

    async def run() -> StormResult:
        async with RetryingSender(targets, path, policy, connections=concurrency) as sender:
            storm = asyncio.create_task(sender.storm(events, concurrency))
            reached = asyncio.create_task(sender.accepted_reaches(after_accepted).wait())
            await asyncio.wait([storm, reached], return_when=asyncio.FIRST_COMPLETED)
            reached.cancel()
            at_fault = len(sender.tally.accepted)
            began = time.monotonic()
            try:
                await asyncio.to_thread(fault.inject)
            except BaseException:
                storm.cancel()
                raise
            lasted = time.monotonic() - began
            at_repair = len(sender.tally.accepted)
            await storm
            return StormResult(sender.tally, at_fault, at_repair, lasted)

    return asyncio.run(run())
