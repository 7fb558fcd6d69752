"""A small closed-loop HTTP GET load generator on aiohttp, used when `wrk` is not installed.

    python tests/benchmarks/_loadgen.py URL --connections 64 --duration 10 [--header 'Accept: ...']

Runs in its own process (so it does not share an event loop with anything else) and prints one JSON
line: {"requests", "seconds", "rps", "p50", "p90", "p99", "max", "non2xx", "errors"} (latencies in ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


async def run(url: str, connections: int, duration: float, headers: dict[str, str]) -> dict[str, float]:
    import aiohttp
    latencies: list[float] = []
    non2xx = errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, trust_env=False,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal non2xx, errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as resp:
                        await resp.read()
                        if not 200 <= resp.status < 400:
                            non2xx += 1
                except (TimeoutError, aiohttp.ClientError):
                    errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds = time.perf_counter() - start
    return {"requests": len(latencies), "seconds": seconds, "rps": len(latencies) / seconds,
            "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan")),
            "non2xx": non2xx, "errors": errors}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--header", action="append", default=[])
    args = p.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    print(json.dumps(asyncio.run(run(args.url, args.connections, args.duration, headers))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
