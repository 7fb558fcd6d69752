"""Attach py-spy to a running process and summarise where its time went (top functions, per thread).

    rec = PySpy(pid, out_path); rec.start(); ...load...; rec.stop(); print(summarise(out_path))

py-spy's raw format is one collapsed stack per line: "thread;frame;frame;... count", outermost first,
each frame "function (file:line)". Idle samples are dropped by py-spy (no --idle), so the shares are of
busy samples only.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def available() -> bool:
    return shutil.which("py-spy") is not None


class PySpy:
    def __init__(self, pid: int, out: Path, rate: int = 250) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["py-spy", "record", "--pid", str(self.pid), "--format", "raw", "--threads",
                                      "--nonblocking", "--rate", str(self.rate), "--output", str(self.out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # let it attach
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise RuntimeError(f"py-spy failed to attach: {err.strip()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


def _frame_key(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    return f"{m.group('func')} ({m.group('file')})"


def summarise(path: Path, top: int = 25) -> str:
    """Per thread: busy samples; top functions by inclusive and by self samples."""
    threads: dict[str, Counter[str]] = {}
    selfs: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no profile written at {path})"
    for line in text.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        thread, frames = frames[0], frames[1:]
        if thread.startswith("process"):  # "process 123:..." prefix when present
            thread, frames = frames[0], frames[1:]
        label = "event loop (main thread)" if "MainThread" in thread or "main" in thread.lower() else thread
        totals[label] += count
        keys = [_frame_key(f) for f in frames]
        inc = threads.setdefault(label, Counter())
        for k in set(keys):
            inc[k] += count
        if keys:
            selfs.setdefault(label, Counter())[keys[-1]] += count
    out = []
    for label, total in totals.most_common():
        out.append(f"--- {label}: {total} busy samples ---")
        out.append("  inclusive (share of this thread's busy samples):")
        for k, n in threads[label].most_common(top):
            out.append(f"    {100 * n / total:5.1f}%  {k}")
        out.append("  self:")
        for k, n in selfs.get(label, Counter()).most_common(top):
            out.append(f"    {100 * n / total:5.1f}%  {k}")
    return "\n".join(out)
