"""Shared plumbing for the benchmark scripts: a throwaway `fedi serve` on a loopback port, its CLI,
free ports, RSS, percentiles and a description of the machine.

Not a test module (the leading underscore keeps pytest away); the bench_*.py scripts import it.
Everything here talks to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# FEDI_BENCH_SRC=/path/to/a/checkout benchmarks that code instead of this checkout (e.g. a clean
# `git archive HEAD` export while the work tree is mid-edit, or a patched copy for a before/after).
SRC = Path(os.environ["FEDI_BENCH_SRC"]).resolve() if os.environ.get("FEDI_BENCH_SRC") else None
for _path in (ROOT, SRC):
    if _path is not None and str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

AS2 = "application/activity+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fedi_command(src: Path | None = None) -> list[str]:
    """The `fedi` console script when installed, else `python -m fedi.cli` (same code either way)."""
    if (src or SRC) is not None:
        return [sys.executable, "-m", "fedi.cli"]
    exe = shutil.which("fedi")
    return [exe] if exe else [sys.executable, "-m", "fedi.cli"]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of values; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- load from outside the benchmark: this is a shared machine, say how busy it was while we measured ---

def _stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _own_tree() -> set[int]:
    """This process and all its descendants (the servers, the load generator, py-spy)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat_fields(entry)[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    out, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


def _ticks(pids: set[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        try:
            fields = _stat_fields(pid)
            out[pid] = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        except (OSError, IndexError, ValueError):
            continue
    return out


HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process so far, in clock ticks (HZ a second)."""
    return _ticks({pid}).get(pid, 0)


def _busy_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


class ForeignLoad:
    """CPU used while measuring by processes *outside* this benchmark's process tree (other people's
    tests, builds), in cores: the machine's busy time minus our own processes' (alive ones from /proc,
    finished and reaped children such as wrk or `fedi post` from getrusage). 0.0 means the run had the
    machine to itself; on a 2-core machine 1.0 means one core was taken by someone else."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = _busy_ticks()
        self.mine0 = _ticks(_own_tree())
        self.reaped0 = self._reaped()

    @staticmethod
    def _reaped() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def stop(self) -> float:
        hz = os.sysconf("SC_CLK_TCK")
        elapsed = time.monotonic() - self.t0
        mine1 = _ticks(_own_tree())
        mine = sum(t - self.mine0.get(pid, 0) for pid, t in mine1.items()) / hz
        mine += self._reaped() - self.reaped0
        busy = (_busy_ticks() - self.busy0) / hz
        return max(0.0, busy - mine) / elapsed if elapsed > 0 else 0.0


def wait_until_quiet() -> None:
    """With FEDI_BENCH_QUIET=SECONDS: before a round, wait up to that long until the rest of the machine
    has used < 0.15 cores for 3 s in a row (prints how long it waited). Without it: no wait."""
    limit = float(os.environ.get("FEDI_BENCH_QUIET") or 0)
    if limit <= 0:
        return
    start = time.monotonic()
    calm = 0
    load = 0.0
    while time.monotonic() - start < limit and calm < 3:
        probe = ForeignLoad()
        time.sleep(1.0)
        load = probe.stop()
        calm = calm + 1 if load < 0.15 else 0
    waited = time.monotonic() - start
    print(f"  (waited {waited:.0f} s for a quiet machine; other processes {load:.2f} cores"
          f"{'' if calm >= 3 else ', gave up waiting'})", flush=True)


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("quart", "hypercorn", "tortoise-orm", "aiosqlite", "aiohttp", "cryptography", "orjson",
                 "pillow"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "-"
    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "libs": " ".join(f"{k} {v}" for k, v in versions.items())}


def print_machine() -> None:
    m = machine()
    print(f"machine: nproc={m['nproc']} cpu={m['cpu']!r} python {m['python']}; {m['libs']}")
    import fedi
    print(f"code under test: {Path(fedi.__file__).resolve().parent.parent}")


class FediServer:
    """One throwaway instance: temp data dir, SQLite, http on 127.0.0.1:port, CLI on the same data."""

    def __init__(self, port: int | None = None, extra_env: dict[str, str] | None = None,
                 keep: bool = False, src: Path | None = None) -> None:
        """src: run the fedi code of that checkout (default: FEDI_BENCH_SRC, else this checkout)."""
        self.src = Path(src).resolve() if src else SRC
        self.port = port or free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="fedi-bench-"))
        self.keep = keep
        self.data_dir = self.tmp / "data"
        self.domain = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.domain}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
        env.update({
            "FEDI_DOMAIN": self.domain, "FEDI_SCHEME": "http", "FEDI_DATA_DIR": str(self.data_dir),
            "FEDI_ALLOW_PRIVATE_ADDRESSES": "1", "FEDI_CONFIG": str(self.tmp / "no-fedi.toml"),
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        env.pop("http_proxy", None)
        env.pop("HTTP_PROXY", None)
        env.pop("https_proxy", None)
        env.pop("HTTPS_PROXY", None)
        # The code root goes first on the server's path, as in tests/federation: the server then imports
        # exactly the code this script sees, even when the editable install is stale.
        code_root = self.src or ROOT
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code_root), env.get("PYTHONPATH")]))
        env.update(extra_env or {})
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.tmp / "serve.log"

    @property
    def command(self) -> list[str]:
        return fedi_command(self.src)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "fedi.sqlite3"

    def cli(self, *args: str) -> str:
        """Run a `fedi` command on this instance's data; returns stdout, raises on failure."""
        result = subprocess.run([*self.command, *args], env=self.env, cwd=self.tmp, capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"fedi {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, cwd=self.tmp, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fedi serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/.well-known/nodeinfo")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"fedi serve did not start within {timeout} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code, self.proc = self.proc.returncode, None
        return code

    def cleanup(self) -> None:
        self.stop()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> FediServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def request(self, method: str, path: str, *, token: str | None = None, accept: str = "application/json",
                data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"Accept": accept, **(headers or {})}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, headers=hdrs, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)


def tiny_png() -> bytes:
    from tests.helpers import tiny_png as make
    return make()
