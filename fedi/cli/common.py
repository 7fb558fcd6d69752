"""What the `fedi` commands share: the one-line error, the database around a command, a State for
work outside the server, post lookup, and waking a running `fedi serve`."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fedi import __version__
from fedi.config import Config


class CliError(Exception):
    """A one-line message for stderr and a non-zero exit."""


async def with_db(cfg: Config, fn: Callable[[], Awaitable[Any]]) -> Any:
    from fedi.db import close_db, init_db
    try:
        await init_db(cfg)
        return await fn()
    finally:
        await close_db()  # always: an open aiosqlite thread would keep the process alive


def state_for(cfg: Config) -> Any:
    from fedi.http import HttpClient
    from fedi.state import State
    from fedi.urls import Urls
    return State(cfg=cfg, urls=Urls(cfg), http=HttpClient(cfg, user_agent=f"fedi/{__version__}"))


async def find_post(ref: str, *, deleted: bool = False) -> Any:
    from fedi.models import Post
    post = await Post.get_or_none(id=int(ref)) if ref.isdigit() else await Post.get_or_none(uri=ref)
    if post is None or (post.deleted_at is not None and not deleted):
        raise CliError(f"no such post: {ref}")
    return post


def serve_file(cfg: Config) -> Path:
    return cfg.data_dir / "serve.json"


def wake_server(cfg: Config) -> None:
    """Tell a running `fedi serve` on the same data that there is new work (best effort)."""
    try:
        info = json.loads(serve_file(cfg).read_text())
        req = urllib.request.Request(f"{info['url']}/internal/wake", method="POST", data=b"",  # noqa: S310
                                     headers={"X-Fedi-Wake": info["secret"]})
        with urllib.request.urlopen(req, timeout=2):  # noqa: S310 - our own loopback server
            pass
    except (OSError, ValueError, KeyError):
        pass  # no server running: it picks the work up when it starts
