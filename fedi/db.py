"""Database start-up and shutdown (SQLite in WAL mode by default, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from fedi.config import Config

MODELS = ["fedi.models"]
T = TypeVar("T")


def db_url(cfg: Config) -> str:
    url = cfg.database_url
    if url.startswith("sqlite") and "?" not in url:
        # WAL is tortoise's default; a busy timeout lets the CLI write while `fedi serve` runs.
        url += "?busy_timeout=10000&synchronous=NORMAL"
    return url


async def init_db(cfg: Config, *, create: bool = True) -> None:
    if cfg.is_sqlite:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
    # _enable_global_fallback: Quart runs requests in tasks that do not inherit the start-up
    # context; without it every query fails with "No TortoiseContext is currently active".
    await Tortoise.init(db_url=db_url(cfg), modules={"models": MODELS}, _enable_global_fallback=True)
    if create:
        await Tortoise.generate_schemas(safe=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def atomic(fn: Callable[[], Awaitable[T]]) -> T:
    """Run fn in one transaction, shielded from cancellation.

    A client that disconnects cancels its request task; cancelling inside in_transaction() left
    tortoise's connection unusable for every later query, so the transaction always completes.
    """

    async def run() -> T:
        async with in_transaction():
            return await fn()

    return await asyncio.shield(run())
