"""CPU time per request of fedi's Quart app for WebFinger and the actor document, driven in-process over
ASGI (no HTTP server, no sockets, no load generator), next to a trivial Quart app in the same process.

    python tests/benchmarks/bench_app_cpu.py                       # this checkout (or FEDI_BENCH_SRC)
    python tests/benchmarks/bench_app_cpu.py --compare /tmp/old    # before/after: processes alternate
    python tests/benchmarks/bench_app_cpu.py --rounds 6 -n 600

What it isolates: fedi's own cost per request (routing, hooks, sessions, the route, the response) on top
of what any Quart app pays, without hypercorn/h11 and the event loop's transports, which dominate an
end-to-end GET and whose cost swings with the VM. Each figure is the best (lowest) of several batches of
n requests, by process CPU time: the least disturbed measurement on a shared machine. Child processes
(one per checkout and round) alternate, so before and after share the machine's state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PATHS = {"WebFinger": ("/.well-known/webfinger", b"resource=acct:alice@localhost:8000", []),
         "actor": ("/users/alice", b"", [(b"accept", b"application/activity+json")])}


async def _one(app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "headers": [(b"host", b"localhost:8000"), (b"user-agent", b"bench"), *headers],
             "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000), "extensions": {}}
    done = asyncio.Event()
    calls = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    assert status == 200, (path, status)


async def _child(n: int, batches: int) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    import _common  # noqa: F401  (FEDI_BENCH_SRC first on sys.path)
    from quart import Quart, Response

    from fedi.accounts import create_user
    from fedi.app import create_app
    from fedi.config import Config

    tmp = Path(tempfile.mkdtemp(prefix="fedi-appcpu-"))
    cfg = Config(domain="localhost:8000", scheme="http", data_dir=tmp, database_url=f"sqlite://{tmp}/fedi.sqlite3")
    app = create_app(cfg, workers=False)
    await app.startup()
    await create_user(app.state.urls, "alice", "Alice")

    hello = Quart("hello")
    doc = b'{"subject":"acct:alice@localhost:8000","links":[]}'

    @hello.get("/hello")
    async def hello_route() -> Response:
        return Response(doc, content_type="application/json")

    targets = {name: (app, *spec) for name, spec in PATHS.items()}
    targets["hello (trivial Quart app)"] = (hello, "/hello", b"", [])
    out: dict[str, float] = {}
    for name, (target, path, query, headers) in targets.items():
        for _ in range(100):  # warm-up: caches, lazy imports
            await _one(target, path, query, headers)
        best = float("inf")
        for _ in range(batches):
            started = time.process_time()
            for _ in range(n):
                await _one(target, path, query, headers)
            best = min(best, (time.process_time() - started) / n * 1e6)
        out[name] = best
    await app.shutdown()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", type=Path, help="a second checkout, its processes alternating with the first's")
    parser.add_argument("--rounds", type=int, default=4, help="child processes per checkout")
    parser.add_argument("-n", type=int, default=400, help="requests per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per child; the best counts")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.n, args.batches))))
        return 0
    src = os.environ.get("FEDI_BENCH_SRC") or str(HERE.parents[1])
    sources = [src] + ([str(args.compare.resolve())] if args.compare else [])
    best: dict[str, dict[str, float]] = {s: {} for s in sources}
    for rnd in range(args.rounds):
        for source in sources:
            env = {**os.environ, "FEDI_BENCH_SRC": source}
            result = subprocess.run([sys.executable, __file__, "--child", "-n", str(args.n),
                                     "--batches", str(args.batches)], env=env, capture_output=True, text=True,
                                    cwd=source, timeout=600)
            if result.returncode != 0:
                print(result.stderr[-3000:], file=sys.stderr)
                return 1
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"  round {rnd + 1} {source}: " + ", ".join(f"{k} {v:.0f} us" for k, v in figures.items()),
                  flush=True)
            for name, value in figures.items():
                best[source][name] = min(best[source].get(name, float("inf")), value)
    print()
    for source, figures in best.items():
        hello = figures.pop("hello (trivial Quart app)")
        parts = ", ".join(f"{name} {value:.0f} us (+{value - hello:.0f} over the trivial app)"
                          for name, value in figures.items())
        print(f"{source}: CPU per request, best of {args.rounds} x {args.batches} batches of {args.n}: "
              f"{parts}; trivial Quart app {hello:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
