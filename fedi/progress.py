"""Progress of long CLI work: rich bars on a terminal, else plain lines on stderr.

Both go to stderr, so what a command prints on stdout (its result, the part scripts read) is the same
with or without a terminal. The plain lines stay quiet for work done within a second and then come at
most once a second, ending with the final count.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

Step = Callable[[int, int], None]               # (done, total)
TableStep = Callable[[str, int, int], None]     # (label, done, total)


def on_terminal() -> bool:
    return sys.stderr.isatty()


class Lines:
    """`label: done/total` on stderr, at most once a second, nothing for work done within a second."""

    def __init__(self, label: str, every: float = 1.0) -> None:
        self.label, self.every = label, every
        self.last, self.shown = time.monotonic(), False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every or (done >= total and self.shown and done):
            self.last, self.shown = now, True
            print(f"{self.label}: {done}/{total}", file=sys.stderr, flush=True)


def _rich() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    return Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=False)


@contextlib.contextmanager
def bar(label: str) -> Iterator[Step]:
    """One piece of work: yields a callback (done, total)."""
    if not on_terminal():
        yield Lines(label)
        return
    with bars() as step:
        yield lambda done, total: step(label, done, total)


@contextlib.contextmanager
def bars() -> Iterator[TableStep]:
    """Pieces of work in turn (a bar each, e.g. one per table): yields a callback (label, done, total).
    Nothing is shown until the first call."""
    if not on_terminal():
        lines: dict[str, Lines] = {}
        yield lambda label, done, total: lines.setdefault(label, Lines(label))(done, total)
        return
    with contextlib.ExitStack() as stack:
        shown: list[Any] = []
        tasks: dict[str, Any] = {}

        def update(label: str, done: int, total: int) -> None:
            if not shown:
                shown.append(stack.enter_context(_rich()))
            if label not in tasks:
                tasks[label] = shown[0].add_task(label, total=total)
            shown[0].update(tasks[label], completed=done, total=total)

        yield update
