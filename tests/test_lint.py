"""The code stays lint-clean (ruff) and type-clean (mypy --strict), both configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_ruff_is_clean():
    pytest.importorskip("ruff")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "fedi", "inbox", "outbox", "schemas", "tests"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_is_clean():
    """`mypy` with no arguments: strict, over fedi, inbox, outbox and schemas ([tool.mypy] in pyproject.toml).
    Its incremental cache is .mypy_cache (git-ignored): a cold run takes seconds, a warm one less than one."""
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
