"""Time-ordered 64-bit ids, like Mastodon's: milliseconds since the epoch in the high bits."""

from __future__ import annotations

import secrets
import time

_last = 0


def new_id() -> int:
    global _last
    candidate = (int(time.time() * 1000) << 16) | secrets.randbits(16)
    if candidate <= _last:
        candidate = _last + 1
    _last = candidate
    return candidate
