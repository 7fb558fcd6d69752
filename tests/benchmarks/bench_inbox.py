"""Inbox throughput: signed Likes POSTed into a local user's inbox, on SQLite, one `fedi serve` process.

    python tests/benchmarks/bench_inbox.py                    # 3000 actors, 64 connections, 3 rounds
    python tests/benchmarks/bench_inbox.py --actors 5000 --concurrency 32
    python tests/benchmarks/bench_inbox.py --profile          # py-spy the server during both phases
    python tests/benchmarks/bench_inbox.py --compare /tmp/patched   # before/after, rounds interleaved

What it does, all on 127.0.0.1:
  * a throwaway `fedi serve` (SQLite, temp data dir) with user alice and three posts made by `fedi post`;
  * a separate process serving N remote actor documents (one RSA key shared by all, to save key
    generation; each actor has its own keyId) at http://127.0.0.1:PORT/users/a{i};
  * warm-up (untimed): 50 other actors Like post 0;
  * (b) first contact: each of the N actors, unknown to fedi, Likes post 1 -> the server fetches every
    actor once while handling its Like;
  * (a) known actors: the same N actors (now cached) Like post 2.
Every request is built and signed before the clock starts (signing is the sender's cost). A phase's
rate is 202s / wall time from the first send to the last answer. Afterwards the post's
favourites_count (GET /api/v1/statuses/:id) must equal N, and the likes table must hold N rows for it:
nothing lost. Targets: (a) >= 1000 accepted and applied per second, (b) >= 500/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import _profile  # noqa: E402

TARGET_KNOWN = 1000.0
TARGET_FIRST = 500.0


# --- the remote actors (a separate process, so serving them does not share a core with the load) ---

def actor_doc(base: str, name: str, public_pem: str) -> dict[str, Any]:
    uri = f"{base}/users/{name}"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri, "type": "Person", "preferredUsername": name, "name": name.upper(),
        "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
        "following": f"{uri}/following", "url": f"{base}/@{name}",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
    }


def serve_actors(port: int, public_pem: str, ready: Any) -> None:
    import orjson
    from aiohttp import web

    base = f"http://127.0.0.1:{port}"
    served: dict[str, int] = {}

    async def actor(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        served[name] = served.get(name, 0) + 1
        body = orjson.dumps(actor_doc(base, name, public_pem))
        return web.Response(body=body, content_type="application/activity+json")

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"fetches": sum(served.values()), "actors": len(served),
                                  "max_per_actor": max(served.values(), default=0)})

    async def sink(_: web.Request) -> web.Response:
        return web.Response(status=202)

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    app.router.add_get("/stats", stats)
    app.router.add_route("POST", "/{tail:.*}", sink)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the load ---

def like(actor_base: str, name: str, post_uri: str, tag: str) -> dict[str, Any]:
    uri = f"{actor_base}/users/{name}"
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{uri}#likes/{tag}", "type": "Like",
            "actor": uri, "object": post_uri}


def presign(inbox_url: str, actor_base: str, names: list[str], post_uri: str, tag: str,
            private_pem: str) -> list[tuple[bytes, dict[str, str]]]:
    import orjson

    from fedi.signatures import sign_headers
    out = []
    for name in names:
        body = orjson.dumps(like(actor_base, name, post_uri, tag))
        headers = sign_headers("POST", inbox_url, f"{actor_base}/users/{name}#main-key", private_pem, body,
                               {"Content-Type": "application/activity+json"})
        out.append((body, headers))
    return out


async def blast(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    import aiohttp
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    queue = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:

        async def worker() -> None:
            while queue:
                body, headers = queue.pop()
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        statuses[resp.status] = statuses.get(resp.status, 0) + 1
                        if resp.status != 202 and len(errors) < 5:
                            errors.append(f"{resp.status} {(await resp.text())[:200]}")
                except (TimeoutError, aiohttp.ClientError) as exc:
                    statuses[0] = statuses.get(0, 0) + 1
                    if len(errors) < 5:
                        errors.append(repr(exc))
                latencies.append((time.perf_counter() - t0) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses, "errors": errors}


def favourites(server: _common.FediServer, status_id: str) -> int:
    status, body = server.get(f"/api/v1/statuses/{status_id}")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/statuses/{status_id} -> {status} {body}")
    return int(body["favourites_count"])


def run_phase(label: str, server: _common.FediServer, requests: list[tuple[bytes, dict[str, str]]],
              status_id: str, post_uri: str, concurrency: int, target: float | None,
              profile_dir: Path | None) -> dict[str, Any]:
    spy = None
    if profile_dir is not None:
        out = profile_dir / f"inbox-{label.split()[0].strip('()')}.txt"
        spy = _profile.PySpy(server.pid, out)
        spy.start()
    foreign = _common.ForeignLoad()
    result = asyncio.run(blast(f"{server.base}/users/alice/inbox", requests, concurrency))
    t_end = time.perf_counter()
    other = foreign.stop()
    if spy is not None:
        spy.stop()
    n = len(requests)
    count = favourites(server, status_id)
    while count < n and time.perf_counter() - t_end < 30:
        time.sleep(0.1)
        count = favourites(server, status_id)
    catch_up = time.perf_counter() - t_end
    accepted = result["statuses"].get(202, 0)
    lat = result["latencies"]
    row = {
        "phase": label, "sent": n, "accepted": accepted, "applied": count,
        "elapsed": result["elapsed"], "rate": accepted / result["elapsed"],
        "p50": _common.percentile(lat, 50), "p99": _common.percentile(lat, 99), "max": max(lat),
        "mean": statistics.fmean(lat), "statuses": result["statuses"], "errors": result["errors"],
        "catch_up": catch_up, "target": target, "other": other,
    }
    ok = accepted == n and count == n
    verdict = "" if target is None else ("  MEETS" if ok and row["rate"] >= target else "  MISSES")
    print(f"{label}: {accepted}/{n} accepted (202) in {row['elapsed']:.2f} s = {row['rate']:.0f}/s; "
          f"favourites_count {count}/{n} (caught up {catch_up:.2f} s after the last answer); latency "
          f"p50 {row['p50']:.1f} ms p99 {row['p99']:.1f} ms max {row['max']:.1f} ms; other processes "
          f"{other:.2f} cores" + (f"; target >= {target:.0f}/s{verdict}" if target else ""), flush=True)
    if result["errors"]:
        print(f"  statuses {result['statuses']}; first errors: {result['errors']}")
    return row


def scenario(src: Path | None, tag: str, args: argparse.Namespace, actor_base: str, private_pem: str,
             profile: bool) -> tuple[list[dict[str, Any]], bool]:
    """One fresh instance: warm-up, (b) first contact, (a) known actors. Returns the phase rows, lost?"""
    import json
    import urllib.request

    _common.wait_until_quiet()
    server = _common.FediServer(keep=args.keep, src=src)
    profile_dir = server.tmp if profile else None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        server.cli("user", "create", "alice", "--display-name", "Alice")
        png = server.tmp / "img.png"
        png.write_bytes(_common.tiny_png())
        posts = [server.cli("post", "alice", str(png), "--caption", f"post {i}").strip().splitlines()[-1]
                 for i in range(3)]
        ids = [uri.rstrip("/").rsplit("/", 1)[-1] for uri in posts]
        server.start()
        inbox = f"{server.base}/users/alice/inbox"
        names = [f"{tag}a{i}" for i in range(args.actors)]
        t0 = time.perf_counter()
        warm = presign(inbox, actor_base, [f"{tag}w{i}" for i in range(50)], posts[0], "p0", private_pem)
        first = presign(inbox, actor_base, names, posts[1], "p1", private_pem)
        known = presign(inbox, actor_base, names, posts[2], "p2", private_pem)
        print(f"[{tag}] code {server.src or _common.ROOT}: pre-signed {len(warm) + len(first) + len(known)} "
              f"requests in {time.perf_counter() - t0:.1f} s (not timed); {args.actors} actors, "
              f"{args.concurrency} connections, fedi on {server.base}", flush=True)
        before = json.loads(opener.open(f"{actor_base}/stats", timeout=10).read())
        run_phase("warm-up (50 first-contact Likes)", server, warm, ids[0], posts[0], 8, None, None)
        rows = [
            run_phase("(b) first-contact actors", server, first, ids[1], posts[1], args.concurrency,
                      TARGET_FIRST, profile_dir),
            run_phase("(a) known actors", server, known, ids[2], posts[2], args.concurrency, TARGET_KNOWN,
                      profile_dir),
        ]
        rss = _common.rss_mb(server.pid)
        stats = json.loads(opener.open(f"{actor_base}/stats", timeout=10).read())
        server.stop()
        db = sqlite3.connect(server.db_path)
        likes = {pid: db.execute("select count(*) from likes where post_id = ?", (int(pid),)).fetchone()[0]
                 for pid in ids}
        items = db.execute("select count(*) from inbox_items").fetchone()[0]
        db.close()
        print(f"  after the run: likes rows per post {[likes[i] for i in ids]} (expected [50, {args.actors}, "
              f"{args.actors}]); inbox_items {items}; actor documents served "
              f"{stats['fetches'] - before['fetches']} (max {stats['max_per_actor']} per actor); "
              f"server RSS {rss:.0f} MB", flush=True)
        lost = [r["phase"] for r in rows if r["applied"] != r["sent"] or r["accepted"] != r["sent"]]
        lost += [f"likes rows post {i}" for i, want in zip(ids[1:], (args.actors, args.actors), strict=True)
                 if likes[i] != want]
        if lost:
            print(f"  LOST: {lost}")
        if profile_dir is not None:
            for row in rows:
                path = profile_dir / f"inbox-{row['phase'].split()[0].strip('()')}.txt"
                print(f"\n=== py-spy profile of the server during {row['phase']} ===")
                print(_profile.summarise(path))
        return rows, bool(lost)
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actors", type=int, default=3000, help="remote actors, = Likes per phase")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="fresh instances per code version; medians")
    parser.add_argument("--compare", type=Path, help="a second checkout (e.g. with a patch), its rounds "
                        "interleaved with the first's: before/after in one run")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the timed phases "
                        "(first round only)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data dirs")
    args = parser.parse_args()
    if args.profile and not _profile.available():
        print("--profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return 1

    from fedi.signatures import generate_keypair

    _common.print_machine()
    private_pem, public_pem = generate_keypair()
    actor_port = _common.free_port()
    actor_base = f"http://127.0.0.1:{actor_port}"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    actors = ctx.Process(target=serve_actors, args=(actor_port, public_pem, ready), daemon=True)
    actors.start()
    if not ready.wait(30):
        print("the actor server did not start", file=sys.stderr)
        return 1
    versions: list[tuple[str, Path | None]] = [("base", None)]
    if args.compare:
        versions.append(("compare", args.compare.resolve()))
    results: dict[str, list[list[dict[str, Any]]]] = {label: [] for label, _ in versions}
    any_lost = False
    try:
        for rnd in range(args.rounds):
            for label, src in versions:
                rows, lost = scenario(src, f"r{rnd}{label[0]}", args, actor_base, private_pem,
                                      args.profile and rnd == 0)
                results[label].append(rows)
                any_lost = any_lost or lost
    finally:
        actors.terminate()
        actors.join(5)
    print(f"\nmedians over {args.rounds} rounds ({args.actors} Likes per phase, {args.concurrency} connections):")
    for label, src in versions:
        for i, (phase, target) in enumerate((("(b) first-contact actors", TARGET_FIRST),
                                             ("(a) known actors", TARGET_KNOWN))):
            rows = [r[i] for r in results[label]]
            rate = statistics.median(r["rate"] for r in rows)
            p50 = statistics.median(r["p50"] for r in rows)
            p99 = statistics.median(r["p99"] for r in rows)
            applied = all(r["applied"] == r["sent"] == r["accepted"] for r in rows)
            ok = applied and rate >= target
            print(f"  {phase} [{src or _common.SRC or _common.ROOT}]: "
                  f"{rate:.0f} accepted+applied/s (runs {', '.join(format(r['rate'], '.0f') for r in rows)}), "
                  f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, all applied: {applied}; other processes "
                  f"{', '.join(format(r['other'], '.2f') for r in rows)} cores; target >= {target:.0f}/s: "
                  f"{'MEETS' if ok else 'MISSES'}")
    return 1 if any_lost else 0


if __name__ == "__main__":
    sys.exit(main())
