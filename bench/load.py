"""A small closed-loop HTTP load generator on asyncio: a fixed number of connections, a time box, loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Requests started inside the measured window, with their latencies in seconds."""

    latencies: list[float] = field(default_factory=list)
    unexpected: int = 0  # wrong status or a failed connection
    seconds: float = 0.0
    client_cpu: float = 0.0  # share of one core the generator itself used

    @classmethod
    def merged(cls, runs: list[LoadResult]) -> LoadResult:
        """Several runs of one app as one: all their requests over all their measured seconds."""
        merged = cls(seconds=sum(r.seconds for r in runs), unexpected=sum(r.unexpected for r in runs))
        for run in runs:
            merged.latencies.extend(run.latencies)
        busy = sum(r.client_cpu * r.seconds for r in runs)
        merged.client_cpu = busy / merged.seconds if merged.seconds else 0.0
        return merged

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def run_load(port: int, payloads: Iterator[bytes], expected_status: int, *, connections: int, warmup: float,
             duration: float, max_requests: int) -> LoadResult:
    """Send `payloads` (whole HTTP requests) over new connections; measure after `warmup` for `duration`."""
    return asyncio.run(_drive(port, payloads, expected_status, connections, warmup, duration, max_requests))


async def _drive(port: int, payloads: Iterator[bytes], expected_status: int, connections: int, warmup: float,
                 duration: float, max_requests: int) -> LoadResult:
    result = LoadResult()
    measured_from = time.perf_counter() + warmup
    stop_at = measured_from + duration
    cpu_before = time.process_time()
    last_end = measured_from

    async def connection() -> None:
        nonlocal last_end
        while (began := time.perf_counter()) < stop_at and len(result.latencies) < max_requests:
            status = await _exchange(port, next(payloads))
            ended = time.perf_counter()
            if began >= measured_from:
                result.latencies.append(ended - began)
                result.unexpected += status != expected_status
                last_end = max(last_end, ended)

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = last_end - measured_from
    result.client_cpu = (time.process_time() - cpu_before) / (time.perf_counter() - started)
    return result


async def _exchange(port: int, payload: bytes) -> int:
    """One request on a fresh connection (`serve` keeps none alive); the status, 0 if it failed."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        response = await reader.read()  # to EOF: the request says Connection: close
        writer.close()
        await writer.wait_closed()
    except OSError:
        return 0
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0
