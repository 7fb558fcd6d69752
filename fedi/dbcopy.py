"""`fedi db copy`: an instance's data from its database into another one (SQLite to PostgreSQL, typically).

The target first gets fedi's schema from the same migrations `fedi serve` applies at start-up (so
`tortoise_migrations` there is right and the server does not migrate it again). Then, in one transaction
on the target and one snapshot of the source, every table of every model in `fedi.models` (found through
tortoise, so a model added later comes along) and every many-to-many table is copied in batches: keys,
timestamps, JSON and binary values as they are. Tables go in foreign-key order; a key that points into its
own table (a reply stored before the post it answers) or round a cycle is filled in once its table is
complete. PostgreSQL sequences are set past the largest id, the row counts are compared with the source,
and only then is anything committed. Media files are not copied: they stay in FEDI_DATA_DIR.
"""

# SQL here is built from table and column names that come from the models (quoted by _q), never from
# input; every value goes as a parameter.
# ruff: noqa: S608

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.fields import DatetimeField, Field, JSONField
from tortoise.fields.relational import ForeignKeyFieldInstance, ManyToManyFieldInstance
from tortoise.migrations.executor import MigrationExecutor
from tortoise.models import Model
from tortoise.transactions import in_transaction

from fedi.admin import database_label, sqlite_path
from fedi.config import Config, normalise_db_url
from fedi.db import db_url, tortoise_config
from fedi.errors import ConfigError, FediError

BATCH = 1000
SOURCE, TARGET = "default", "target"
Progress = Callable[[str, int, int], None]      # (table, rows done, rows in the table)


class CopyError(FediError):
    """Why the copy was refused or failed (one line); the target's data is then as it was."""


@dataclasses.dataclass
class Table:
    name: str
    columns: list[str]
    convert: list[Callable[[Any], Any]]     # per column: the source's raw value -> the target's
    order: list[str]                        # ORDER BY (the primary key, or both columns of an m2m table)
    keyset: bool = True                     # page by "key > last" (a one-column key), else by OFFSET
    deferred: list[int] = dataclasses.field(default_factory=list)   # columns written after the whole table
    own: set[int] = dataclasses.field(default_factory=set)          # those of them that point into this table
    sequence: bool = False                  # a generated integer key: move its PostgreSQL sequence on


@dataclasses.dataclass
class CopyResult:
    source: str
    target: str
    counts: list[tuple[str, int]]
    migrations: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.counts)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(field: Any, model: type[Model], raw: Any) -> Any:
    # to_db_value with the class (not an instance) keeps auto_now/auto_now_add timestamps as they are
    return None if raw is None else field.to_db_value(field.to_python_value(raw), model)


def _plain(kind: type, raw: Any) -> Any:
    """A field without conversions of its own (text, numbers, booleans): what its base methods do."""
    return raw if raw is None or type(raw) is kind else kind(raw)


def _datetime(field: Any, model: type[Model], raw: Any) -> Any:
    """Timestamps in UTC, parsed at C speed (tortoise's parser took most of a copy's time)."""
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            return _value(field, model, raw)
    elif isinstance(raw, datetime):
        value = raw
    else:
        return _value(field, model, raw)
    if value.tzinfo is None:
        return _value(field, model, raw)    # naive: tortoise's own rules
    return value if value.utcoffset() == timedelta(0) else value.astimezone(UTC)


def _json(raw: Any) -> Any:
    # JSON text as the source holds it (re-encoding would turn a stored JSON string into bare text)
    if raw is None or isinstance(raw, str):
        return raw
    return raw.decode() if isinstance(raw, bytes) else json.dumps(raw)


def _converter(field: Any, model: type[Model]) -> Callable[[Any], Any]:
    if isinstance(field, JSONField):
        return _json
    if isinstance(field, DatetimeField):
        return functools.partial(_datetime, field, model)
    kind = type(field)
    if kind.to_db_value is Field.to_db_value and kind.to_python_value is Field.to_python_value:
        return functools.partial(_plain, field.field_type)
    return functools.partial(_value, field, model)


def _references(model: type[Model]) -> dict[str, tuple[str, bool]]:
    """Foreign-key columns: {column: (table it points to, nullable)}."""
    meta = model._meta
    out = {}
    for name in sorted(meta.fk_fields | meta.o2o_fields):
        field = cast(ForeignKeyFieldInstance[Model], meta.fields_map[name])
        column = cast(str, field.source_field)  # set to the `<name>_id` column when tortoise inits the models
        out[column] = (field.related_model._meta.db_table, bool(field.null))
    return out


def plan(models: Iterable[type[Model]]) -> list[Table]:
    """Every table in an order that satisfies the foreign keys, then the many-to-many tables."""
    by_name = {m._meta.db_table: m for m in models if not m._meta.abstract}
    refs = {name: _references(m) for name, m in by_name.items()}
    tables: list[Table] = []
    done: set[str] = set()
    while len(done) < len(by_name):
        left = sorted(set(by_name) - done)
        ready = [t for t in left if all(dst in done or dst == t for dst, _ in refs[t].values())]
        if not ready:   # a cycle: start with a table whose keys into the rest may wait (nullable)
            ready = [t for t in left if all(dst in done or null for dst, null in refs[t].values())][:1]
            if not ready:
                raise CopyError(f"cannot order the tables {', '.join(left)}: a cycle of required foreign keys")
        for name in ready:
            tables.append(_table(by_name[name], {c: dst == name for c, (dst, null) in refs[name].items()
                                                 if null and (dst == name or dst not in done)}))
        done.update(ready)
    seen = set(by_name)
    for model in by_name.values():
        for name in sorted(model._meta.m2m_fields):
            field = cast(ManyToManyFieldInstance[Model], model._meta.fields_map[name])
            if field.through not in seen:
                seen.add(field.through)
                pk, related_pk = model._meta.pk, field.related_model._meta.pk
                tables.append(Table(field.through, [field.backward_key, field.forward_key],
                                    [_converter(pk, model), _converter(related_pk, field.related_model)],
                                    order=[field.backward_key, field.forward_key], keyset=False))
    return tables


def _table(model: type[Model], deferred: dict[str, bool]) -> Table:
    meta = model._meta
    columns, convert = [], []
    for name, column in meta.fields_db_projection.items():
        columns.append(column)
        convert.append(_converter(meta.fields_map[name], model))
    pk = meta.pk
    return Table(meta.db_table, columns, convert, order=[meta.db_pk_column],
                 deferred=[columns.index(c) for c in sorted(deferred)],
                 own={columns.index(c) for c, own in deferred.items() if own},
                 sequence=bool(pk.generated) and pk.field_type is int)


class _Sql:
    """The few statements the copy needs, in a connection's dialect (`$1` or `?` parameters)."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.pg = conn, conn.capabilities.dialect == "postgres"

    def params(self, n: int, start: int = 1) -> list[str]:
        return [f"${i}" for i in range(start, start + n)] if self.pg else ["?"] * n

    async def rows(self, sql: str, values: list[Any] | None = None) -> list[Any]:
        return list((await self.conn.execute_query(sql, values or []))[1])

    async def insert(self, t: Table, sql: str, rows: list[list[Any]]) -> None:
        if self.pg:   # PostgreSQL's COPY: about twice as fast as one INSERT a row
            async with self.conn.acquire_connection() as raw:
                await raw.copy_records_to_table(t.name, records=rows, columns=t.columns)
        else:
            await self.conn.execute_many(sql, rows)

    async def count(self, table: str) -> int:
        return int((await self.rows(f"SELECT COUNT(*) FROM {_q(table)}"))[0][0])

    async def tables(self) -> set[str]:
        sql = ("SELECT tablename FROM pg_tables WHERE schemaname = ANY(current_schemas(false))" if self.pg
               else "SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(r[0]) for r in await self.rows(sql)}


def same_place(source: str, target: str) -> bool:
    """Whether two database URLs name the same database (by path, or host, port and database)."""
    a, b = urlsplit(source), urlsplit(target)
    if a.scheme.startswith("sqlite") or b.scheme.startswith("sqlite"):
        pa, pb = sqlite_path(source), sqlite_path(target)
        return a.scheme == b.scheme and pa is not None and pb is not None and pa.resolve() == pb.resolve()
    local = {"localhost", "127.0.0.1", "::1", ""}

    def where(u: Any) -> tuple[Any, ...]:
        host = (u.hostname or "").lower()
        return ("local" if host in local else host, u.port or 5432, u.path.strip("/"))

    return where(a) == where(b)


def running_server(cfg: Config) -> int | None:
    """The pid of a `fedi serve` running on this data folder, if any."""
    try:
        pid = int(json.loads((cfg.data_dir / "serve.json").read_text())["pid"])
        os.kill(pid, 0)
    except PermissionError:
        return -1
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def copy_database(cfg: Config, target_url: str, *, replace: bool = False, batch: int = BATCH,
                        progress: Progress | None = None) -> CopyResult:
    try:
        target_url = normalise_db_url(target_url.strip())
    except ConfigError as exc:
        raise CopyError("--to takes postgres://user@host:port/database (or sqlite:///path)") from exc
    source_label, target_label = database_label(cfg.database_url), database_label(target_url)
    if same_place(cfg.database_url, target_url):
        raise CopyError(f"the target is the source database ({source_label}): name another one with --to")
    pid = running_server(cfg)
    if pid is not None:
        which = f" (pid {pid})" if pid > 0 else ""
        raise CopyError(f"`fedi serve` is running on this instance{which}: stop it first, so that nothing "
                        "changes during the copy")
    target_cfg = dataclasses.replace(cfg, database_url=target_url)
    if target_cfg.is_sqlite and (path := sqlite_path(target_url)) is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(db_url(cfg))
    config["connections"][TARGET] = db_url(target_cfg)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        return await _copy(config, source_label, target_label, replace, max(1, batch), progress)
    finally:
        await Tortoise.close_connections()


async def _copy(config: dict[str, Any], source_label: str, target_label: str, replace: bool, batch: int,
                progress: Progress | None) -> CopyResult:
    src, dst = _Sql(get_connection(SOURCE)), _Sql(get_connection(TARGET))
    tables = plan(m for app in Tortoise.apps.values() for m in app.values())
    try:
        existing = await dst.tables()
    except Exception as exc:  # any driver error (no such database, refused, auth): the target is unusable
        raise CopyError(f"cannot open the target {target_label}: {_first_line(exc)}") from exc
    if src.pg and dst.pg:
        probe = "SELECT current_database(), pg_postmaster_start_time()"
        if list((await src.rows(probe))[0]) == list((await dst.rows(probe))[0]):
            raise CopyError(f"the target is the source database ({source_label}): name another one with --to")
    held = [f"{t.name}: {n}" for t in tables if t.name in existing and (n := await dst.count(t.name))]
    if held and not replace:
        raise CopyError(f"the target already holds fedi data ({', '.join(held[:4])}{', ...' if len(held) > 4 else ''}"
                        "): use an empty database, or add --replace to overwrite it")
    apps = config["apps"]
    await MigrationExecutor(src.conn, apps).migrate()    # as every fedi command does when it opens the database
    target_apps = {label: {**app, "default_connection": TARGET} for label, app in apps.items()}
    executor = MigrationExecutor(dst.conn, target_apps)
    migrations = len([step for step in await executor.plan() if not step.backward])
    await executor.migrate()
    started = time.monotonic()
    async with in_transaction(SOURCE) as s, in_transaction(TARGET) as d:
        src, dst = _Sql(s), _Sql(d)
        if src.pg:   # one consistent view of the source (SQLite: BEGIN IMMEDIATE already holds it still)
            await src.rows("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if replace:
            await _empty(dst, tables, await dst.tables())
        counts = [(t.name, await _copy_table(src, dst, t, batch, progress)) for t in tables]
        for (name, n), t in zip(counts, tables, strict=True):
            if t.sequence and dst.pg:
                pk = _q(t.order[0])
                await dst.rows(f"SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({pk}), 0) + 1, false) "
                               f"FROM {_q(t.name)}", [_q(t.name), t.order[0]])
            found, expected = await dst.count(name), await src.count(name)
            if not found == n == expected:
                raise CopyError(f"{name}: {found} rows in the target, {expected} in the source; nothing was copied")
    return CopyResult(source_label, target_label, counts, migrations, time.monotonic() - started)


async def _empty(dst: _Sql, tables: list[Table], existing: set[str]) -> None:
    names = [t.name for t in tables if t.name in existing]
    if dst.pg:
        if names:
            await dst.rows("TRUNCATE " + ", ".join(_q(n) for n in names))
        return
    # SQLite checks every deleted row for rows pointing at it: children go before parents, and keys into
    # their own table are cleared and indexed for the while (else deleting such a table takes n^2 steps)
    indexes = []
    for t in tables:
        if t.name in existing and t.deferred:
            await dst.rows(f"UPDATE {_q(t.name)} SET " + ", ".join(f"{_q(t.columns[i])} = NULL" for i in t.deferred))
            for i in t.deferred:
                indexes.append(_q(f"fedi_copy_{t.name}_{t.columns[i]}"))
                await dst.rows(f"CREATE INDEX {indexes[-1]} ON {_q(t.name)} ({_q(t.columns[i])})")
    for name in reversed(names):
        await dst.rows(f"DELETE FROM {_q(name)}")
    for index in indexes:
        await dst.rows(f"DROP INDEX {index}")


async def _copy_table(src: _Sql, dst: _Sql, t: Table, batch: int, progress: Progress | None) -> int:
    total = await src.count(t.name)
    if progress is not None:
        progress(t.name, 0, total)
    cols = ", ".join(_q(c) for c in t.columns)
    order = ", ".join(_q(c) for c in t.order)
    insert = f"INSERT INTO {_q(t.name)} ({cols}) VALUES ({', '.join(dst.params(len(t.columns)))})"
    key = t.columns.index(t.order[0])
    later: dict[int, list[tuple[Any, Any]]] = {i: [] for i in t.deferred}
    done, last = 0, None
    while True:
        if t.keyset and last is not None:
            sql = f"SELECT {cols} FROM {_q(t.name)} WHERE {order} > {src.params(1)[0]} ORDER BY {order} LIMIT {batch}"
            raw = await src.rows(sql, [last])
        else:
            offset = "" if t.keyset else f" OFFSET {done}"
            raw = await src.rows(f"SELECT {cols} FROM {_q(t.name)} ORDER BY {order} LIMIT {batch}{offset}")
        if not raw:
            break
        try:
            rows = [[conv(v) for conv, v in zip(t.convert, r, strict=True)] for r in raw]
            for i, pending in later.items():
                for row in rows:
                    ref, pk = row[i], row[key]
                    if ref is None or (i in t.own and type(ref) is int and type(pk) is int and ref <= pk):
                        continue   # NULL, or a row of this table copied already (ids ascend): no need to wait
                    pending.append((ref, pk))
                    row[i] = None
            await dst.insert(t, insert, rows)
        except Exception as exc:  # a value the target refuses (too long, NUL byte, ...): say where
            raise CopyError(f"copying {t.name} failed near {t.order[0]}={raw[0][key]!r}: {_first_line(exc)}") from exc
        done, last = done + len(raw), raw[-1][key]
        if progress is not None:
            progress(t.name, done, max(total, done))
    for i, pending in later.items():
        update = f"UPDATE {_q(t.name)} SET {_q(t.columns[i])} = {dst.params(1)[0]} WHERE {_q(t.order[0])} = " \
                 f"{dst.params(1, 2)[0]}"
        for n in range(0, len(pending), batch):
            await dst.conn.execute_many(update, pending[n:n + batch])
    return done
