"""An instance made by an older fedi upgrades in place: every migration applies to existing rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from fedi.config import Config
from fedi.db import close_db, db_url, tortoise_config

Migrate = Callable[[str | None], Awaitable[None]]


@pytest.fixture
async def migrate(database_url, tmp_path) -> AsyncIterator[tuple[Any, Migrate]]:
    """An empty database and the connection to it, with `migrate(name)`: apply the migrations up to that
    one (all of them for None), as `fedi serve` does at start-up."""
    cfg = Config(domain="x.test", data_dir=tmp_path, database_url=database_url)
    config = tortoise_config(db_url(cfg))
    await Tortoise.init(config=config, _enable_global_fallback=True)
    conn = get_connection("default")

    async def to(name: str | None = None) -> None:
        await MigrationExecutor(conn, config["apps"]).migrate([MigrationTarget("models", name)] if name else None)

    try:
        yield conn, to
    finally:
        await close_db()


async def test_upgrade_from_the_first_schema_keeps_rows(migrate):
    conn, to = migrate
    await to("0001_initial")
    await conn.execute_script(
        "INSERT INTO accounts (id, username, uri, actor_type, display_name, summary, inbox, public_key_pem, "
        "manually_approves_followers, discoverable, bot, suspended, gone, created_at) VALUES "
        "(1, 'alice', 'https://x.test/users/alice', 'Person', 'Alice', '', 'https://x.test/users/alice/inbox', "
        "'', false, true, false, false, false, '2026-01-01 00:00:00+00:00');"
        "INSERT INTO tokens (id, digest, scopes, created_at, account_id) VALUES "
        "(1, 'abc', 'read', '2026-01-01 00:00:00+00:00', 1);")
    await to()
    from fedi.models import Account, Token
    alice = await Account.get(id=1)
    assert (alice.username, alice.ai_filter, alice.remix_default) == ("alice", "show", True)
    token = await Token.get(id=1)
    assert (token.revoked, token.account_id, token.app_id) == (False, 1, None)


async def test_every_lookup_column_is_indexed(migrate):
    """The indexes of 0005 exist after all migrations (a later SQLite table rebuild must not drop them)."""
    import importlib
    indexes = importlib.import_module("fedi.migrations.0005_indexes")
    conn, to = migrate
    await to()
    missing = [(table, cols) for table, cols in indexes.INDEXES
               if not indexes.covered(cols, await indexes.existing_indexes(conn, table))]
    assert missing == []
    # and the queries use them: a profile's posts, a post's images
    if conn.capabilities.dialect == "sqlite":
        plan = await conn.execute_query_dict(
            "EXPLAIN QUERY PLAN SELECT * FROM posts WHERE account_id = 1 ORDER BY id DESC LIMIT 20")
        assert any("ix_posts_account_id_id" in row["detail"] for row in plan), plan
        plan = await conn.execute_query_dict("EXPLAIN QUERY PLAN SELECT * FROM media WHERE post_id = 1")
        assert any("ix_media_post_id" in row["detail"] for row in plan), plan


async def test_pins_upgrade_keeps_posts_unpinned(migrate):
    """0006 adds posts.pinned_at and accounts.featured_url to existing rows, as NULL."""
    conn, to = migrate
    await to("0005_indexes")
    await conn.execute_script(
        "INSERT INTO accounts (id, username, uri, actor_type, display_name, summary, inbox, public_key_pem, "
        "manually_approves_followers, discoverable, bot, suspended, gone, created_at, ai_filter, remix_default) "
        "VALUES (1, 'alice', 'https://x.test/users/alice', 'Person', 'Alice', '', "
        "'https://x.test/users/alice/inbox', '', false, true, false, false, false, "
        "'2026-01-01 00:00:00+00:00', 'show', true);"
        "INSERT INTO posts (id, uri, account_id, local, text, content, visibility, sensitive, spoiler_text, "
        "tags, mentions, \"to\", cc, favourites_count, reblogs_count, replies_count, published, created_at) "
        "VALUES (7, 'https://x.test/users/alice/statuses/7', 1, true, 'a fox', '<p>a fox</p>', 'public', "
        "false, '', '[]', '[]', '[]', '[]', 0, 0, 0, '2026-01-01 00:00:00+00:00', "
        "'2026-01-01 00:00:00+00:00');")
    await to()
    from fedi.models import Account, Post
    post = await Post.get(id=7)
    assert (post.text, post.pinned_at) == ("a fox", None)
    assert (await Account.get(id=1)).featured_url is None
    await Post.filter(id=7).update(pinned_at=post.published)
    assert await Post.filter(account_id=1, pinned_at__not_isnull=True).count() == 1
