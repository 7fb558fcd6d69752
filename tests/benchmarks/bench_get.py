"""GET throughput: WebFinger and the actor document at 64 concurrent connections, one `fedi serve`
process on SQLite, against the framework ceiling (a trivial Quart JSON app on hypercorn).

    python tests/benchmarks/bench_get.py                  # wrk if installed, else the aiohttp generator
    python tests/benchmarks/bench_get.py --runs 5 --duration 10
    python tests/benchmarks/bench_get.py --loadgen aiohttp
    python tests/benchmarks/bench_get.py --profile        # py-spy fedi during one WebFinger run
    python tests/benchmarks/bench_get.py --compare /tmp/patched   # also a second fedi from that checkout

The load generator runs in its own process: `wrk -t1 -c64` (apt-get install wrk) or
tests/benchmarks/_loadgen.py (aiohttp, closed loop). One thread for the generator leaves the other core
of a 2-core machine to the server. Runs of the three targets are interleaved; the figure is the median
over runs of requests/s and of p99. Targets: >= 3500 requests/s and p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import _profile  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_RPS = 3500.0
TARGET_P99_MS = 50.0
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)$", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(url: str, connections: int, duration: float, headers: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout", "10s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60).stdout
    res: dict[str, float] = {"non2xx": 0, "errors": 0}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            res["rps"] = float(line.split()[1])
        elif re.match(r"^(50|90|99)%\s", line):
            pct, value = line.split()
            res["p" + pct.rstrip("%")] = _ms(value)
        elif line.startswith("Non-2xx or 3xx responses:"):
            res["non2xx"] = float(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            res["errors"] = float(sum(int(n) for n in re.findall(r"\d+", line)))
        elif re.match(r"^\d+ requests in", line):
            res["requests"] = float(line.split()[0])
        elif line.startswith("Latency") and "max" not in res:
            res["max"] = _ms(line.split()[3])
    if "rps" not in res:
        raise RuntimeError(f"could not parse wrk output:\n{out}")
    return res


def run_aiohttp(url: str, connections: int, duration: float, headers: dict[str, str]) -> dict[str, float]:
    cmd = [sys.executable, str(HERE / "_loadgen.py"), url, "--connections", str(connections), "--duration",
           str(duration)]
    for k, v in headers.items():
        cmd += ["--header", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "aiohttp"], default="auto")
    parser.add_argument("--no-hello", action="store_true", help="skip the framework-ceiling app")
    parser.add_argument("--profile", action="store_true", help="py-spy fedi during one extra WebFinger run")
    parser.add_argument("--compare", type=Path, help="a second checkout (e.g. with a patch) served alongside, "
                        "its runs interleaved with the first's: before/after in one run")
    args = parser.parse_args()

    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "aiohttp"
    if loadgen == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y wrk), use --loadgen aiohttp", file=sys.stderr)
        return 1
    load = run_wrk if loadgen == "wrk" else run_aiohttp
    _common.print_machine()
    print(f"load generator: {'wrk -t1' if loadgen == 'wrk' else '_loadgen.py (aiohttp)'}, "
          f"{args.connections} connections, {args.runs} x {args.duration:.0f} s per target, interleaved",
          flush=True)

    server = _common.FediServer()
    other = _common.FediServer(src=args.compare) if args.compare else None
    hello = None
    try:
        targets: dict[str, tuple[str, dict[str, str]]] = {}
        pids: dict[str, int] = {}   # the serving process of each target, for its CPU time per request
        for label, srv in (("", server), (f" [{args.compare}]", other)):
            if srv is None:
                continue
            srv.cli("user", "create", "alice", "--display-name", "Alice")
            srv.start()
            targets["WebFinger" + label] = (
                f"{srv.base}/.well-known/webfinger?resource=acct:alice@{srv.domain}",
                {"Accept": "application/jrd+json"})
            targets["actor" + label] = (f"{srv.base}/users/alice", {"Accept": _common.AS2})
            pids["WebFinger" + label] = pids["actor" + label] = srv.pid
            status, doc = srv.get(f"/.well-known/webfinger?resource=acct:alice@{srv.domain}")
            assert status == 200 and doc["subject"] == f"acct:alice@{srv.domain}", (status, doc)
            status, doc = srv.get("/users/alice", accept=_common.AS2)
            assert status == 200 and doc["id"] == f"{srv.base}/users/alice", (status, doc)
        if not args.no_hello:
            port = _common.free_port()
            hello = subprocess.Popen([sys.executable, str(HERE / "_hello_app.py"), str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while True:
                try:
                    import urllib.request
                    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        f"http://127.0.0.1:{port}/hello", timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            targets["hello (Quart+hypercorn ceiling)"] = (f"http://127.0.0.1:{port}/hello", {})
            pids["hello (Quart+hypercorn ceiling)"] = hello.pid
        for url, headers in targets.values():  # warm-up
            load(url, args.connections, 2, headers)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for run in range(args.runs):
            _common.wait_until_quiet()
            for name, (url, headers) in targets.items():
                foreign = _common.ForeignLoad()
                ticks = _common.cpu_ticks(pids[name])
                r = load(url, args.connections, args.duration, headers)
                r["other"] = foreign.stop()
                # CPU time of the server per request: what bounds its throughput on one core, and much
                # steadier than requests/s on a shared VM whose speed varies from hour to hour
                r["cpu_us"] = ((_common.cpu_ticks(pids[name]) - ticks) / _common.HZ
                               / max(1.0, r["rps"] * args.duration) * 1e6)
                results[name].append(r)
                print(f"  run {run + 1} {name}: {r['rps']:.0f} req/s, server CPU {r['cpu_us']:.0f} us/request, "
                      f"p50 {r['p50']:.1f} ms "
                      f"p99 {r['p99']:.1f} ms non-2xx {r['non2xx']:.0f} errors {r['errors']:.0f}; other processes "
                      f"{r['other']:.2f} cores", flush=True)
        rss = _common.rss_mb(server.pid)
        print()
        for name, rows in results.items():
            rps = statistics.median(r["rps"] for r in rows)
            p50 = statistics.median(r["p50"] for r in rows)
            p99 = statistics.median(r["p99"] for r in rows)
            bad = sum(r["non2xx"] + r["errors"] for r in rows)
            cpu = min(r["cpu_us"] for r in rows)
            verdict = ""
            if not name.startswith("hello"):
                ok = rps >= TARGET_RPS and p99 < TARGET_P99_MS and not bad
                verdict = (f"; target >= {TARGET_RPS:.0f}/s and p99 < {TARGET_P99_MS:.0f} ms: "
                           f"{'MEETS' if ok else 'MISSES'}")
            print(f"{name}: median {rps:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                  f"server CPU {cpu:.0f} us/request (best run: one core's ceiling {1e6 / cpu:.0f} req/s) "
                  f"(runs: {', '.join(format(r['rps'], '.0f') for r in rows)}; p99s: "
                  f"{', '.join(format(r['p99'], '.0f') for r in rows)} ms; non-2xx/errors {bad:.0f}; other processes "
                  f"{', '.join(format(r['other'], '.2f') for r in rows)} cores){verdict}")
        print(f"fedi serve RSS after the runs: {rss:.0f} MB")
        if args.profile:
            if not _profile.available():
                print("--profile needs py-spy", file=sys.stderr)
                return 1
            out = server.tmp / "get-webfinger.txt"
            spy = _profile.PySpy(server.pid, out)
            spy.start()
            url, headers = targets["WebFinger"]
            load(url, args.connections, args.duration, headers)
            spy.stop()
            print(f"\n=== py-spy profile of fedi during a WebFinger run ===\n{_profile.summarise(out)}")
        return 0
    finally:
        if hello is not None:
            hello.terminate()
            hello.wait(10)
        server.cleanup()
        if other is not None:
            other.cleanup()


if __name__ == "__main__":
    sys.exit(main())
