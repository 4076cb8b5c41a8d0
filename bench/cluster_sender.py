"""An in-cluster event sender that retries as Knative's dispatcher does: 429, 5xx and
connection errors are retried with exponential backoff, a bounded number of attempts; any
other answer is final. Runs in a Pod of the project image (python and httpx are there).

Settings come from the environment: ``TARGET`` (the sink's URL), ``COUNT`` (unique events),
``CONCURRENCY``, ``ATTEMPTS`` (per event), ``ID_PREFIX``, ``RATE`` (events started per
second, 0 for no limit). It prints one JSON line: counts
of final statuses, retries, and accepted events per second.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

import httpx

TARGET = os.environ["TARGET"]
COUNT = int(os.environ.get("COUNT", "500"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "16"))
ATTEMPTS = int(os.environ.get("ATTEMPTS", "10"))
ID_PREFIX = os.environ.get("ID_PREFIX", "event")
#: Events started per second over all workers; 0: as fast as the concurrency allows.
RATE = float(os.environ.get("RATE", "0"))
SOURCE = "cluster/sender"
BACKOFF_FIRST, BACKOFF_CAP = 0.1, 5.0


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def send_one(client: httpx.AsyncClient, index: int, tally: Counter[str]) -> None:
    headers = {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-source": SOURCE,
        "ce-type": "cluster.sender.event",
        "ce-id": f"{ID_PREFIX}-{index}",
    }
    body = json.dumps({"index": index}).encode()
    for attempt in range(ATTEMPTS):
        if attempt:
            tally["retries"] += 1
            await asyncio.sleep(min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1)))
        try:
            response = await client.post(TARGET, headers=headers, content=body)
        except httpx.TransportError as error:
            tally[f"error:{type(error).__name__}"] += 1
            continue
        if not retryable(response.status_code):
            tally[f"final:{response.status_code}"] += 1
            return
        tally[f"retried:{response.status_code}"] += 1
    tally["gave_up"] += 1


async def main() -> None:
    tally: Counter[str] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(COUNT):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                if RATE:
                    await asyncio.sleep(max(0.0, began + index / RATE - time.monotonic()))
                await send_one(client, index, tally)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    seconds = time.monotonic() - began
    accepted = tally["final:202"]
    print(json.dumps({"count": COUNT, "concurrency": CONCURRENCY, "seconds": round(seconds, 3),
                      "accepted_per_second": round(accepted / seconds, 1), "tally": tally}),
          flush=True)  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
