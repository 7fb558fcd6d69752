"""An instance made by an older fedi upgrades in place: every migration applies to existing rows."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from fedi.config import Config
from fedi.db import close_db, db_url, tortoise_config


async def test_upgrade_from_the_first_schema_keeps_rows(database_url, tmp_path):
    cfg = Config(domain="x.test", data_dir=tmp_path, database_url=database_url)
    config = tortoise_config(db_url(cfg))
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        conn = get_connection("default")
        executor = MigrationExecutor(conn, config["apps"])
        await executor.migrate([MigrationTarget("models", "0001_initial")])
        await conn.execute_script(
            "INSERT INTO accounts (id, username, uri, actor_type, display_name, summary, inbox, public_key_pem, "
            "manually_approves_followers, discoverable, bot, suspended, gone, created_at) VALUES "
            "(1, 'alice', 'https://x.test/users/alice', 'Person', 'Alice', '', 'https://x.test/users/alice/inbox', "
            "'', false, true, false, false, false, '2026-01-01 00:00:00+00:00');"
            "INSERT INTO tokens (id, digest, scopes, created_at, account_id) VALUES "
            "(1, 'abc', 'read', '2026-01-01 00:00:00+00:00', 1);")
        await MigrationExecutor(conn, config["apps"]).migrate()
        from fedi.models import Account, Token
        alice = await Account.get(id=1)
        assert (alice.username, alice.ai_filter, alice.remix_default) == ("alice", "show", True)
        token = await Token.get(id=1)
        assert (token.revoked, token.account_id, token.app_id) == (False, 1, None)
    finally:
        await close_db()
