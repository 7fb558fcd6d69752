"""Database start-up and shutdown (SQLite in WAL mode by default, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor
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


def tortoise_config(url: str) -> dict[str, Any]:
    return {"connections": {"default": url},
            "apps": {"models": {"models": MODELS, "migrations": "fedi.migrations", "default_connection": "default"}},
            "use_tz": True, "timezone": "UTC"}


# For the `tortoise` CLI when writing a new migration:
#   tortoise -c fedi.db.TORTOISE_ORM makemigrations
TORTOISE_ORM = tortoise_config("sqlite:///tmp/fedi-makemigrations.sqlite3")


def _sqlite_begin_immediate() -> None:
    """Make tortoise's SQLite transactions BEGIN IMMEDIATE.

    The CLI writes to the same SQLite file while `fedi serve` runs. A deferred transaction that
    reads, then writes, fails at once with "database is locked" when the other process wrote in
    between (the busy timeout cannot help with that upgrade). Taking the write lock at BEGIN makes
    the second writer wait its turn within the busy timeout instead.
    """
    from tortoise.backends.sqlite.client import SqliteTransactionWrapper
    from tortoise.exceptions import TransactionManagementError

    async def begin(self: SqliteTransactionWrapper) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    SqliteTransactionWrapper.begin = begin  # type: ignore[method-assign]


_sqlite_begin_immediate()


async def init_db(cfg: Config, *, migrate: bool = True) -> None:
    if cfg.is_sqlite:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(db_url(cfg))
    # _enable_global_fallback: Quart runs requests in tasks that do not inherit the start-up
    # context; without it every query fails with "No TortoiseContext is currently active".
    await Tortoise.init(config=config, _enable_global_fallback=True)
    if migrate:
        await MigrationExecutor(get_connection("default"), config["apps"]).migrate()


async def close_db() -> None:
    await Tortoise.close_connections()


async def select(sql: str, *params: Any) -> list[dict[str, Any]]:
    """A raw SELECT for the hot paths where the ORM's query building costs most (one lookup through
    tortoise took 180 us of CPU here, the same query raw 68 us). Written with `?` placeholders, which
    become `$1`, `$2`, ... on PostgreSQL."""
    conn = get_connection("default")
    if conn.capabilities.dialect == "postgres":
        sql = _numbered(sql)
    return await conn.execute_query_dict(sql, list(params))


@functools.cache
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


async def atomic(fn: Callable[[], Awaitable[T]]) -> T:
    """Run fn in one transaction, shielded from cancellation.

    A client that disconnects cancels its request task; cancelling inside in_transaction() left
    tortoise's connection unusable for every later query, so the transaction always completes.
    """

    async def run() -> T:
        async with in_transaction():
            return await fn()

    return await asyncio.shield(run())
