"""A real `fedi serve` process on a loopback port, driven through the contract (CLI + HTTP)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
AS2 = "application/activity+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(fn: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, OSError, KeyError, IndexError, ValueError) as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Instance:
    def __init__(self, env: dict[str, str], port: int, log_dir: Path, name: str) -> None:
        self.env, self.port, self.name = env, port, name
        self.domain = env["FEDI_DOMAIN"]
        self.base = f"http://{self.domain}"
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "fedi.cli", *args], env=self.env, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"fedi {' '.join(args)} failed: {result.stderr}")
        return result

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([sys.executable, "-m", "fedi.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=self.env, stdout=log, stderr=log)
        wait_for(lambda: self.get("/.well-known/nodeinfo")[0] == 200, 20, f"{self.name} to start")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        code, self.proc = self.proc.returncode, None
        return code

    def request(self, method: str, path: str, *, token: str | None = None, data: Any = None,
                accept: str = "application/json", headers: dict[str, str] | None = None) -> tuple[int, Any]:
        url = path if path.startswith("http") else self.base + path
        body = None
        hdrs = {"Accept": accept, **(headers or {})}
        if isinstance(data, dict):
            body = json.dumps(data).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(data, bytes):
            body = data
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 - loopback test server
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def api(self, method: str, path: str, token: str, data: Any = None) -> Any:
        status, body = self.request(method, path, token=token, data=data)
        assert status == 200, f"{method} {path} -> {status} {body}"
        return body

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return ""

    def __del__(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()


def user_with_token(inst: Instance, name: str) -> str:
    inst.cli("user", "create", name, "--display-name", name.title())
    return inst.cli("token", "create", name).stdout.strip().splitlines()[-1]


def env_for(base_env: dict[str, str]) -> dict[str, str]:
    return dict(base_env, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                    base_env.get("PYTHONPATH")])))
