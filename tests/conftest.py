"""Shared fixtures: a real database (SQLite file, or PostgreSQL when FEDI_TEST_DB=postgres)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

PG_SERVER = os.environ.get("FEDI_TEST_PG", "postgres://postgres@127.0.0.1:5432")
USE_PG = os.environ.get("FEDI_TEST_DB", "sqlite") == "postgres"


async def _pg(sql: str, database: str = "test") -> None:
    import asyncpg
    conn = await asyncpg.connect(f"{PG_SERVER}/{database}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[list[str]]:
    """Fresh PostgreSQL databases for this run (dropped at the end)."""
    if not USE_PG:
        yield []
        return
    names = [f"fedi_test_{os.getpid()}_{i}" for i in range(3)]
    for name in names:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    yield names
    for name in names:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(name: str) -> None:
    import asyncpg
    conn = await asyncpg.connect(f"{PG_SERVER}/{name}")
    try:
        tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
                  if r["tablename"] != "tortoise_migrations"]
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def database_url(tmp_path: Path, pg_databases: list[str]) -> Iterator[str]:
    """One empty database for one test."""
    if USE_PG:
        asyncio.run(_truncate(pg_databases[0]))
        yield f"{PG_SERVER}/{pg_databases[0]}"
    else:
        yield f"sqlite://{tmp_path / 'fedi.sqlite3'}"


@pytest.fixture
def instance_env(tmp_path: Path, pg_databases: list[str]) -> Iterator[callable]:  # type: ignore[valid-type]
    """Environment for a `fedi` process: FEDI_* for instance number n (0 or 1) with its own database."""

    def make(n: int, port: int) -> dict[str, str]:
        data = tmp_path / f"instance{n}"
        data.mkdir(exist_ok=True)
        env = dict(os.environ, FEDI_DOMAIN=f"127.0.0.1:{port}", FEDI_SCHEME="http", FEDI_DATA_DIR=str(data),
                   FEDI_ALLOW_PRIVATE_ADDRESSES="1", FEDI_LOG_LEVEL="INFO")
        env.pop("FEDI_DATABASE_URL", None)
        if USE_PG:
            asyncio.run(_truncate(pg_databases[n + 1]))
            env["FEDI_DATABASE_URL"] = f"{PG_SERVER}/{pg_databases[n + 1]}"
        return env

    yield make


def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def app_ctx(database_url: str, tmp_path: Path) -> AsyncIterator[object]:
    """An in-process app (workers driven by hand) with its database started."""
    from tests.helpers import TestInstance
    inst = TestInstance(database_url, tmp_path)
    async with inst:
        yield inst
