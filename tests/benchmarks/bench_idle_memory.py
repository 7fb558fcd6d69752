"""Memory of an idle `fedi serve` (SQLite): RSS after start-up, and again after some traffic.

    python tests/benchmarks/bench_idle_memory.py
    python tests/benchmarks/bench_idle_memory.py --requests 5000

Steps, on 127.0.0.1: create a user and a token, start `fedi serve`, let it settle (3 s), read VmRSS from
/proc; then `fedi post` an image and make --requests GETs spread over WebFinger, the actor, the post (as
ActivityPub and via the API), NodeInfo, the instance API, verify_credentials and the public timeline
(16 concurrent connections), let it settle again and read VmRSS and VmHWM (the peak). Target: <= 120 MB.
At most API_BUDGET of the GETs go to /api/ paths: fedi rate-limits the API to 300 requests per 5 minutes
per address, and 429 answers would make the traffic cheaper than it is meant to be.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

TARGET_MB = 120.0
API_BUDGET = 250


def vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def plan(paths: list[tuple[str, dict[str, str]]], total: int) -> list[tuple[str, dict[str, str]]]:
    """total requests cycling over paths, the /api/ ones only until API_BUDGET of them are planned."""
    out: list[tuple[str, dict[str, str]]] = []
    api = 0
    i = 0
    while len(out) < total:
        path, headers = paths[i % len(paths)]
        i += 1
        if path.startswith("/api/"):
            if api >= API_BUDGET:
                continue
            api += 1
        out.append((path, headers))
    return out


async def traffic(base: str, paths: list[tuple[str, dict[str, str]]], total: int) -> dict[int, int]:
    import aiohttp
    statuses: dict[int, int] = {}
    requests = plan(paths, total)
    counter = iter(range(total))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16), trust_env=False) as session:

        async def worker() -> None:
            for i in counter:
                path, headers = requests[i]
                async with session.get(base + path, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(16)))
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait before each reading")
    args = parser.parse_args()
    _common.print_machine()
    server = _common.FediServer()
    try:
        server.cli("user", "create", "alice", "--display-name", "Alice")
        token = server.cli("token", "create", "alice").strip().splitlines()[-1]
        server.start()
        time.sleep(args.settle)
        start_rss = _common.rss_mb(server.pid)
        image = server.tmp / "img.png"
        image.write_bytes(_common.tiny_png())
        uri = server.cli("post", "alice", str(image), "--caption", "memory #bench").strip().splitlines()[-1]
        post_id = uri.rsplit("/", 1)[-1]
        auth = {"Authorization": f"Bearer {token}"}
        paths = [
            (f"/.well-known/webfinger?resource=acct:alice@{server.domain}", {}),
            ("/users/alice", {"Accept": _common.AS2}),
            (f"/users/alice/statuses/{post_id}", {"Accept": _common.AS2}),
            (f"/api/v1/statuses/{post_id}", {}),
            ("/nodeinfo/2.1", {}),
            ("/api/v1/instance", {}),
            ("/api/v1/accounts/verify_credentials", auth),
            ("/api/v1/timelines/public", {}),
            ("/users/alice/outbox?page=1", {"Accept": _common.AS2}),
        ]
        statuses = asyncio.run(traffic(server.base, paths, args.requests))
        time.sleep(args.settle)
        after_rss = _common.rss_mb(server.pid)
        peak = vm(server.pid, "VmHWM")
        ok = max(start_rss, after_rss) <= TARGET_MB
        print(f"idle fedi serve RSS: {start_rss:.1f} MB after start-up; {after_rss:.1f} MB after a post and "
              f"{args.requests} GETs ({sum(p.startswith('/api/') for p, _ in plan(paths, args.requests))} of them API; "
              f"statuses {statuses}); peak (VmHWM) {peak:.1f} MB; target <= "
              f"{TARGET_MB:.0f} MB: {'MEETS' if ok else 'MISSES'}")
        return 0 if all(200 <= s < 300 for s in statuses) else 1
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
