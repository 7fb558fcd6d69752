"""fedi/progress.py: rich bars on a terminal, quiet plain lines on stderr otherwise; stdout untouched."""

from __future__ import annotations

import io
import sys

from fedi import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_quick_work_prints_nothing_and_slow_work_prints_lines(capsys):
    with progress.bar("deleting alice's posts") as step:
        for done in range(0, 1001, 100):
            step(done, 1000)
    with progress.bars() as step:
        step("accounts", 0, 3)
        step("accounts", 3, 3)
    assert capsys.readouterr() == ("", "")

    slow = progress.Lines("posts", every=0)
    for done in (0, 500, 1000):
        slow(done, 1000)
    assert capsys.readouterr() == ("", "posts: 0/1000\nposts: 500/1000\nposts: 1000/1000\n")


def test_on_a_terminal_a_rich_bar_per_label_on_stderr(monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress.bars() as step:
        step("accounts", 0, 2)
        step("accounts", 2, 2)
        step("posts", 0, 0)
    shown = terminal.getvalue()
    assert "accounts" in shown and "2/2" in shown and "posts" in shown and "0/0" in shown
    assert capsys.readouterr().out == ""
    with progress.bar("requeueing dead deliveries"):
        pass                                   # never called: nothing shown
    assert "requeueing" not in terminal.getvalue()
