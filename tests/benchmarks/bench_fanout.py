"""Fan-out: one post from a local account with 1000 remote followers, delivered by `fedi serve` (SQLite).

    python tests/benchmarks/bench_fanout.py                   # 1000 followers on 50 servers, 3 rounds
    python tests/benchmarks/bench_fanout.py --followers 2000 --servers 100
    python tests/benchmarks/bench_fanout.py --single-port     # the 50 "servers" as paths of one host
    python tests/benchmarks/bench_fanout.py --profile         # py-spy the server during case 2
    python tests/benchmarks/bench_fanout.py --compare /tmp/patched   # before/after, rounds interleaved

Set-up, all on 127.0.0.1: a receiver process-local aiohttp app listens on --servers ports (one port = one
remote server, so fedi's per-host limits apply as they would to real servers) and counts every POST.
Before `fedi serve` starts, follower Account rows and accepted Follow rows are inserted straight into the
instance's SQLite database (through the models of the code under test, in a child process: _followers.py):
  case 1 "shared": alice has 1000 followers, 20 per server, every one with endpoints.sharedInbox
          -> one delivery per server (50);
  case 2 "personal": bob has 1000 followers, no sharedInbox -> 1000 deliveries.
Then `fedi post NAME IMAGE` runs as the operator would; the clock starts when it returns (it wakes the
running server). Reported: time from `fedi post` returning to the first and to the last delivery
received, deliveries/s, and duplicates (same activity id at the same inbox twice) -- there must be none.
Two rates: deliveries / time from `fedi post` returning to the last delivery (flattering when the server
starts delivering before the CLI has exited, as it does when the CLI is slow to exit), and (deliveries - 1) /
time from the first delivery to the last (the server's own delivery throughput).
Target (case 2): >= 1000 deliveries/s by both, no duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import _profile  # noqa: E402

TARGET_RATE = 1000.0
HELPER = Path(__file__).resolve().parent / "_followers.py"


class Receiver:
    """Many ports (or one), each standing for a remote server; records (server, path, activity id, time)."""

    def __init__(self, servers: int, single_port: bool) -> None:
        self.servers, self.single_port = servers, single_port
        self.hits: list[tuple[str, str, float]] = []   # (inbox url, activity id, perf_counter)
        self.unsigned = 0
        self.changed = asyncio.Event()
        self.bases: list[str] = []

    async def start(self) -> None:
        import orjson
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            now = time.perf_counter()
            if "Signature" not in request.headers:
                self.unsigned += 1
            try:
                activity = orjson.loads(body).get("id", "?")
            except orjson.JSONDecodeError:
                activity = "?"
            self.hits.append((f"{request.host}{request.path}", activity, now))
            self.changed.set()
            return web.Response(status=202)

        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        ports = []
        for _ in range(1 if self.single_port else self.servers):
            site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=1024)  # port 0: the kernel picks, no race
            await site.start()
            ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        if self.single_port:
            self.bases = [f"http://127.0.0.1:{ports[0]}/s{n}" for n in range(self.servers)]
        else:
            self.bases = [f"http://127.0.0.1:{port}" for port in ports]

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def wait_for(self, count: int, seconds: float) -> bool:
        deadline = time.perf_counter() + seconds
        while len(self.hits) < count:
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass
        return True


async def add_followers(server: _common.FediServer, target: str, bases: list[str], count: int,
                        shared: bool, tag: str) -> None:
    """Insert remote Account rows and accepted Follow rows with fedi's models, before `serve` starts.

    In a child process with the server's environment (_followers.py), so the models and migrations are
    those of the code under test: an older checkout given to --compare has an older schema."""
    import json
    spec = json.dumps({"target": target, "bases": bases, "count": count, "shared": shared, "tag": tag})
    proc = await asyncio.create_subprocess_exec(sys.executable, str(HELPER), spec, env=server.env, cwd=server.tmp,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"inserting followers failed ({proc.returncode}): {err.decode()[-2000:]}")


async def one_case(label: str, server: _common.FediServer, receiver: Receiver, user: str, image: Path,
                   expected: int, wait: float, target: float | None, spy: _profile.PySpy | None
                   ) -> dict[str, Any]:
    before = len(receiver.hits)
    if spy is not None:
        spy.start()
    foreign = _common.ForeignLoad()
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*server.command, "post", user, str(image), "--caption",
                                                f"fan-out {label}", env=server.env, cwd=server.tmp,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    t_return = time.perf_counter()
    if proc.returncode != 0:
        raise RuntimeError(f"fedi post failed: {err.decode()}")
    uri = out.decode().strip().splitlines()[-1]
    complete = await receiver.wait_for(before + expected, wait)
    load = foreign.stop()
    await asyncio.sleep(1.0)  # anything extra (a duplicate) would arrive now
    if spy is not None:
        spy.stop()
    hits = [h for h in receiver.hits[before:] if h[1].startswith(uri)]
    other = len(receiver.hits) - before - len(hits)
    per_inbox = Counter((inbox, act) for inbox, act, _ in hits)
    dups = sum(n - 1 for n in per_inbox.values() if n > 1)
    times = sorted(t for _, _, t in hits)
    first = times[0] - t_return if times else float("nan")
    last = times[-1] - t_return if times else float("nan")
    spread = times[-1] - times[0] if len(times) > 1 else float("nan")
    rate_from_return = len(per_inbox) / last if times and last > 0 else float("nan")
    rate_spread = (len(times) - 1) / spread if len(times) > 1 and spread > 0 else float("nan")
    row = {"case": label, "expected": expected, "received": len(hits), "distinct": len(per_inbox),
           "duplicates": dups, "other": other, "post_cli": t_return - t0, "first": first, "last": last,
           "rate": rate_from_return, "rate_spread": rate_spread, "complete": complete, "target": target,
           "foreign": load}
    from_start = f"; from `fedi post` starting: first {(times[0] - t0) * 1000:.0f} ms, last " \
        f"{(times[-1] - t0) * 1000:.0f} ms" if times else ""
    rate_text = f"{rate_from_return:.0f} deliveries/s" if last > 0 else "all in before it returned"
    verdict = ""
    if target is not None:
        ok = complete and not dups and min(rate_from_return, rate_spread) >= target
        verdict = f"; target >= {target:.0f}/s: {'MEETS' if ok else 'MISSES'}"
    print(f"{label}: {len(per_inbox)}/{expected} inboxes got the Create, {dups} duplicates"
          f"{'' if complete else ' (INCOMPLETE)'}; `fedi post` took {row['post_cli']:.2f} s; after it returned: "
          f"first delivery {first * 1000:+.0f} ms, last {last * 1000:+.0f} ms -> {rate_text} "
          f"({rate_spread:.0f}/s between first and last){from_start}; other processes {load:.2f} cores{verdict}",
          flush=True)
    return row


async def run(args: argparse.Namespace, src: Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    _common.wait_until_quiet()
    receiver = Receiver(args.servers, args.single_port)
    await receiver.start()
    server = _common.FediServer(keep=args.keep, src=src)
    print(f"code {server.src or _common.ROOT}:", flush=True)
    try:
        for name in ("alice", "bob"):
            server.cli("user", "create", name)
        t = time.perf_counter()
        await add_followers(server, "alice", receiver.bases, args.followers, True, "sf")
        await add_followers(server, "bob", receiver.bases, args.followers, False, "pf")
        print(f"inserted 2 x {args.followers} followers on {args.servers} servers "
              f"({'paths of one port' if args.single_port else 'one port each'}) in "
              f"{time.perf_counter() - t:.1f} s (not timed)", flush=True)
        image = server.tmp / "img.png"
        image.write_bytes(_common.tiny_png())
        server.start()
        await asyncio.sleep(1.0)
        spy = None
        if args.profile:
            spy = _profile.PySpy(server.pid, server.tmp / "fanout-personal.txt")
        rows = [
            await one_case("case 1, shared inboxes", server, receiver, "alice", image, args.servers,
                           args.timeout, None, None),
            await one_case("case 2, personal inboxes", server, receiver, "bob", image, args.followers,
                           args.timeout, TARGET_RATE, spy),
        ]
        rss = _common.rss_mb(server.pid)
        server.stop()
        db = sqlite3.connect(server.db_path)
        states = dict(db.execute("select state, count(*) from deliveries group by state").fetchall())
        db.close()
        print(f"deliveries table after the run: {states}; unsigned POSTs {receiver.unsigned}; "
              f"server RSS {rss:.0f} MB")
        if spy is not None:
            print(f"\n=== py-spy profile of the server during case 2 ===\n"
                  f"{_profile.summarise(server.tmp / 'fanout-personal.txt')}")
        bad = any(r["duplicates"] or not r["complete"] for r in rows)
        return (1 if bad else 0), rows
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.cleanup()
        await receiver.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--single-port", action="store_true",
                        help="all servers as /s{n} paths of one port (one host for fedi's per-host limits)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all deliveries")
    parser.add_argument("--rounds", type=int, default=3, help="fresh instances per code version; medians")
    parser.add_argument("--compare", type=Path, help="a second checkout (e.g. with a patch), its rounds "
                        "interleaved with the first's: before/after in one run")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during case 2 (each round)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.profile and not _profile.available():
        print("--profile needs py-spy", file=sys.stderr)
        return 1
    _common.print_machine()
    import statistics
    versions: list[Path | None] = [None] + ([args.compare.resolve()] if args.compare else [])
    results: dict[int, list[list[dict[str, Any]]]] = {i: [] for i in range(len(versions))}
    code = 0
    for _ in range(args.rounds):
        for i, src in enumerate(versions):
            rc, rows = asyncio.run(run(args, src))
            code = code or rc
            results[i].append(rows)
    print(f"\nmedians over {args.rounds} rounds ({args.followers} followers, {args.servers} servers"
          f"{', one port' if args.single_port else ''}):")
    for i, src in enumerate(versions):
        name = src or _common.SRC or _common.ROOT
        for c in range(2):
            rows = [r[c] for r in results[i]]
            dups = [r["duplicates"] for r in rows]
            line = (f"  {rows[0]['case']} [{name}]: first delivery "
                    f"{statistics.median(r['first'] for r in rows) * 1000:+.0f} ms, last "
                    f"{statistics.median(r['last'] for r in rows) * 1000:+.0f} ms after `fedi post` returned "
                    f"(`fedi post` itself {statistics.median(r['post_cli'] for r in rows):.2f} s); duplicates per "
                    f"round {dups}; complete {all(r['complete'] for r in rows)}; other processes "
                    f"{', '.join(format(r['foreign'], '.2f') for r in rows)} cores")
            if rows[0]["target"]:
                rate = statistics.median(r["rate"] for r in rows)
                spread = statistics.median(r["rate_spread"] for r in rows)
                ok = (min(rate, spread) >= rows[0]["target"] and not any(dups)
                      and all(r["complete"] for r in rows))
                line += (f"; {rate:.0f} deliveries/s from `fedi post` returning (runs "
                         f"{', '.join(format(r['rate'], '.0f') for r in rows)}), {spread:.0f}/s between first and "
                         f"last delivery (runs {', '.join(format(r['rate_spread'], '.0f') for r in rows)}); target "
                         f">= {rows[0]['target']:.0f}/s (both) without duplicates: {'MEETS' if ok else 'MISSES'}")
            print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
