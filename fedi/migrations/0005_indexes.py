"""Indexes for the columns fedi looks rows up by, on SQLite and PostgreSQL alike.

Neither database indexes a foreign key by itself, tortoise's SQLite migrations drop a table's indexes
when they rebuild it (the posts table lost its in_reply_to_uri index that way in 0002), and an index
added to a field by AddField was never created. So the indexes live here, as plain SQL made idempotent:
each is created unless an index already starts with the same columns. tests/unit/test_migrations.py
checks that every one exists after the migrations, so a later table rebuild that drops one is caught."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import migrations
from tortoise.migrations import operations as ops

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient
    from tortoise.migrations.schema_editor.base import BaseSchemaEditor
    from tortoise.migrations.schema_generator.state_apps import StateApps

INDEXES: list[tuple[str, tuple[str, ...]]] = [
    ("posts", ("account_id", "id")),        # a profile's posts, newest first
    ("posts", ("in_reply_to_id",)),         # replies, context
    ("posts", ("reblog_of_id",)),           # boosts of a post
    ("posts", ("remix_of_id",)),            # remixes of a post
    ("posts", ("in_reply_to_uri",)),        # replies that arrived before their parent
    ("posts", ("remix_of_uri",)),
    ("posts", ("deleted_at",)),             # the streaming hub's poll
    ("posts", ("edited_at",)),
    ("posts", ("visibility", "id")),        # public timelines, direct-message threads
    ("media", ("post_id",)),                # a post's images (every status rendered)
    ("media", ("account_id",)),
    ("likes", ("post_id",)),                # favourited_by, counts
    ("follows", ("target_id",)),            # followers lists, fan-out
    ("notifications", ("account_id", "id")),
    ("notifications", ("from_account_id",)),
    ("notifications", ("post_id",)),
    ("auth_codes", ("app_id",)),
    ("auth_codes", ("account_id",)),
    ("tokens", ("account_id",)),
    ("tokens", ("app_id",)),
    ("activities", ("account_id",)),
    ("deliveries", ("sender_id",)),
    ("bookmarks", ("post_id",)),
    ("blocks", ("account_id",)),
    ("blocks", ("target_id",)),
    ("status_edits", ("post_id",)),
    ("filter_statuses", ("post_id",)),
]


async def existing_indexes(client: BaseDBAsyncClient, table: str) -> list[tuple[str, ...]]:
    """The column lists of a table's indexes (primary key and unique constraints included)."""
    if client.capabilities.dialect == "sqlite":
        out = []
        for row in await client.execute_query_dict(f'PRAGMA index_list("{table}")'):
            cols = await client.execute_query_dict(f'PRAGMA index_info("{row["name"]}")')
            out.append(tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"])))
        return out
    rows = await client.execute_query_dict(
        "SELECT a.attname, x.indexrelid, array_position(x.indkey, a.attnum) AS pos FROM pg_index x "
        "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_attribute a ON a.attrelid = t.oid "
        "AND a.attnum = ANY(x.indkey) WHERE t.relname = $1 AND t.relnamespace = 'public'::regnamespace", [table])
    by_index: dict[int, list[tuple[int, str]]] = {}
    for row in rows:
        by_index.setdefault(row["indexrelid"], []).append((row["pos"], row["attname"]))
    return [tuple(name for _, name in sorted(cols)) for cols in by_index.values()]


def covered(columns: tuple[str, ...], indexes: list[tuple[str, ...]]) -> bool:
    return any(index[:len(columns)] == columns for index in indexes)


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    for table, columns in INDEXES:
        if covered(columns, await existing_indexes(client, table)):
            continue
        name = f"ix_{table}_{'_'.join(columns)}"
        cols = ", ".join(f'"{c}"' for c in columns)
        await client.execute_script(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({cols})')


class Migration(migrations.Migration):
    dependencies = [("models", "0004_filters")]

    initial = False

    operations = [ops.RunPython(create_indexes, ops.RunPython.noop)]
