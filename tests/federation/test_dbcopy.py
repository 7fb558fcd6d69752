"""`fedi db copy`: a populated SQLite instance moved to PostgreSQL (and back), through the CLI, then served.

Needs PostgreSQL at FEDI_TEST_PG (default postgres://postgres@127.0.0.1:5432) whatever FEDI_TEST_DB says:
the source is always SQLite. Skipped when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_SERVER
from tests.federation.instance import AS2, Instance, env_for, free_port
from tests.helpers import TestInstance, person, png_bytes
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM

pytestmark = pytest.mark.federation

FELIX = "http://127.0.0.1:9/users/felix"      # a remote account on a closed loopback port
GENERATION = {"status": "Owl at dusk", "model": "sdxl", "model_version": "1.0", "prompt": "an owl, oil painting",
              "negative_prompt": "blurry", "seed": "42", "steps": 30, "sampler": "euler_a", "guidance_scale": "7.5",
              "parameters": [{"name": "lora", "value": "owls-v1"}]}
OLD = datetime(2021, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


async def _pg(sql: str) -> None:
    import asyncpg
    conn = await asyncpg.connect(f"{PG_SERVER}/test", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def target_db() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards."""
    name = f"fedi_dbcopy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # refused, timed out, no such role: no PostgreSQL to test with
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _populate(inst: TestInstance) -> dict[str, Any]:
    """Accounts, an AI image post with media, a reply, a boost, likes, follows, notifications, tokens,
    deliveries, a queued-style inbox item, an edit, a bookmark, a marker, a host, a block, a tombstone."""
    from fedi.models import Delivery, DomainBlock, Follow, Host, Post
    alice, token = await inst.user("alice")
    bob, bob_token = await inst.user("bob")
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{FELIX}#follows/1", follower=felix, target=alice, accepted=True)
    from io import BytesIO

    from quart.datastructures import FileStorage
    files = {"file": FileStorage(BytesIO(png_bytes(300, 200)), filename="owl.png", content_type="image/png")}
    media = await (await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                                          files=files, form={"description": "an owl"})).get_json()
    status = await (await inst.api("POST", "/api/v1/statuses", token,
                                   json={**GENERATION, "media_ids": [media["id"]]})).get_json()
    sid = status["id"]
    for path in (f"/api/v1/accounts/{alice.id}/follow", f"/api/v1/statuses/{sid}/favourite",
                 f"/api/v1/statuses/{sid}/reblog", f"/api/v1/statuses/{sid}/bookmark"):
        assert (await inst.api("POST", path, bob_token)).status_code == 200, path
    reply = await (await inst.api("POST", "/api/v1/statuses", bob_token, json={"status": "@alice lovely",
                                                                                "in_reply_to_id": sid})).get_json()
    assert (await inst.api("PUT", f"/api/v1/statuses/{sid}", token, json={"status": "Owl at dusk, edited"})
            ).status_code == 200
    assert (await inst.api("POST", "/api/v1/markers", token, json={"home": {"last_read_id": sid}})).status_code == 200
    gone = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "soon gone"})).get_json()
    assert (await inst.api("DELETE", f"/api/v1/statuses/{gone['id']}", token)).status_code == 200
    like = {"id": f"{FELIX}#likes/1", "type": "Like", "actor": FELIX, "object": status["uri"]}
    assert (await inst.deliver(like, f"{FELIX}#main-key", ALICE_PRIVATE_PEM)).status_code == 202
    # a remote reply stored with a smaller id than the post it answers: its key points forward (past the
    # next batch when copied two rows at a time: posts 5, the owl, bob's boost, bob's reply)
    await Post.create(id=5, uri=f"{FELIX}/statuses/5", account=felix, content="<p>early</p>", published=OLD,
                      in_reply_to_id=int(reply["id"]), in_reply_to_uri=reply["uri"], to=["x"], tags=[{"a": 1}])
    await Host.create(domain="127.0.0.1:9", failure_days=["2021-03-04"], unavailable=True, last_success=OLD)
    await DomainBlock.create(domain="spam.example", reason="spam wave")
    assert await Delivery.all().count() > 0
    await Delivery.all().update(updated_at=OLD)     # auto_now: must come across as it is, not as "now"
    return {"status": status, "media": media, "reply": reply}


async def _dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model table (and the applied migrations), through the ORM."""
    from tortoise import Tortoise
    from tortoise.connection import get_connection

    from fedi.db import tortoise_config
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        out: dict[str, list[dict[str, Any]]] = {}
        for model in Tortoise.apps["models"].values():
            meta = model._meta
            out[meta.db_table] = await model.all().order_by(meta.pk_attr).values(*meta.fields_db_projection)
        rows = (await get_connection("default").execute_query("SELECT app, name FROM tortoise_migrations"))[1]
        out["tortoise_migrations"] = sorted([dict(r) for r in rows], key=lambda r: (r["app"], r["name"]))
        return out
    finally:
        await Tortoise.close_connections()


async def _sequences_behind(url: str) -> list[str]:
    """Tables whose id sequence would hand out an id that is already taken."""
    import asyncpg
    conn = await asyncpg.connect(url)
    try:
        behind = []
        for table in await conn.fetchval("SELECT array_agg(table_name::text) FROM information_schema.columns "
                                         "WHERE column_name = 'id' AND table_schema = 'public'"):
            seq = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
            if seq is None:
                continue
            top = await conn.fetchval(f'SELECT MAX(id) FROM "{table}"')  # noqa: S608 - a name from the catalog
            if top is not None and await conn.fetchval("SELECT nextval($1)", seq) <= top:
                behind.append(table)
        return behind
    finally:
        await conn.close()


def _fedi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedi.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout
    err = result.stderr.strip()
    assert err.count("\n") == 0 and all(w in err for w in words), err
    return err


def test_copy_to_postgres_then_serve_then_back_to_sqlite(target_db, tmp_path: Path):
    port = free_port()
    data = tmp_path / "data"
    source_url = f"sqlite://{data / 'fedi.sqlite3'}"

    async def build() -> dict[str, Any]:
        async with TestInstance(source_url, tmp_path, f"127.0.0.1:{port}", scheme="http", allow_private=True) as i:
            return await _populate(i)

    made = asyncio.run(build())
    source = asyncio.run(_dump(source_url))
    for table in ("accounts", "posts", "media", "follows", "likes", "notifications", "tokens", "deliveries",
                  "inbox_items", "activities", "status_edits", "bookmarks", "markers", "hosts", "domain_blocks",
                  "tombstones"):
        assert source[table], f"the test instance has no {table}"
    env = env_for(dict(os.environ, FEDI_DOMAIN=f"127.0.0.1:{port}", FEDI_SCHEME="http", FEDI_DATA_DIR=str(data),
                       FEDI_ALLOW_PRIVATE_ADDRESSES="1", FEDI_LOG_LEVEL="WARNING"))
    env.pop("FEDI_DATABASE_URL", None)      # the source: the default SQLite file in FEDI_DATA_DIR

    # refused: the same database, a running server, a bad URL; nothing is created
    _refused(_fedi(env, "db", "copy", "--to", source_url), "is the source")
    (data / "serve.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "secret": "x", "pid": os.getpid()}))
    _refused(_fedi(env, "db", "copy", "--to", target_db), "running", "stop it first")
    (data / "serve.json").unlink()
    _refused(_fedi(env, "db", "copy", "--to", "mysql://db.example/fedi"), "--to")

    # a value PostgreSQL refuses (a NUL character) in a late table: one line naming it, and nothing is kept
    with contextlib.closing(sqlite3.connect(data / "fedi.sqlite3")) as db, db:
        db.execute("UPDATE posts SET content = ? WHERE id = 5", ("<p>ear\x00ly</p>",))
    _refused(_fedi(env, "db", "copy", "--to", target_db), "copying posts failed", "id=5")
    assert not any(rows for table, rows in asyncio.run(_dump(target_db)).items() if table != "tortoise_migrations")
    with contextlib.closing(sqlite3.connect(data / "fedi.sqlite3")) as db, db:
        db.execute("UPDATE posts SET content = ? WHERE id = 5", ("<p>early</p>",))

    copied = _fedi(env, "db", "copy", "--to", target_db)
    assert copied.returncode == 0, copied.stderr
    out = copied.stdout
    counts = {m[1]: int(m[2]) for line in out.splitlines() if (m := re.fullmatch(r"(\w+) +(\d+)", line))}
    assert counts == {t: len(rows) for t, rows in source.items() if t != "tortoise_migrations"}
    assert "the same counts as the source" in out and "media files were not copied" in out
    assert copied.stderr.strip() == ""      # no terminal: no progress output for a copy this quick
    target = asyncio.run(_dump(target_db))
    assert target == source                  # every column of every row: ids, timestamps, JSON, AI metadata
    post = next(p for p in target["posts"] if p["uri"] == made["status"]["uri"])
    assert (post["prompt"], post["seed"], post["guidance_scale"], post["parameters"], post["ai_generated"]) == (
        "an owl, oil painting", 42, 7.5, [{"name": "lora", "value": "owls-v1"}], True)
    assert {d["updated_at"] for d in target["deliveries"]} == {OLD}
    assert next(p for p in target["posts"] if p["id"] == 5)["in_reply_to_id"] == int(made["reply"]["id"])

    # sequences: new rows get new ids
    assert asyncio.run(_sequences_behind(target_db)) == []
    on_target = dict(env, FEDI_DATABASE_URL=target_db)
    assert _fedi(on_target, "user", "create", "carol").returncode == 0
    after = asyncio.run(_dump(target_db))
    carol = next(a for a in after["accounts"] if a["username"] == "carol")
    assert carol["id"] > max(a["id"] for a in source["accounts"])

    # a second copy into the now-populated target is refused and changes nothing
    _refused(_fedi(env, "db", "copy", "--to", target_db), "already holds fedi data", "--replace")
    assert asyncio.run(_dump(target_db)) == after

    # `fedi serve` on the target: no migration to apply, the account and its post are served, media in place
    server = Instance(on_target, port, tmp_path, "copied")
    try:
        server.start()
        status, finger = server.get(f"/.well-known/webfinger?resource=acct:alice@127.0.0.1:{port}")
        assert status == 200 and any(link.get("type") == AS2 for link in finger["links"])
        status, actor = server.get("/users/alice", accept=AS2)
        alice = next(a for a in source["accounts"] if a["username"] == "alice")
        assert status == 200 and actor["publicKey"]["publicKeyPem"].strip() == alice["public_key_pem"].strip()
        status, note = server.get(made["status"]["uri"], accept=AS2)
        assert status == 200 and note["prompt"] == "an owl, oil painting"
        status, _ = server.get(made["media"]["url"], accept="*/*")
        assert status == 200
    finally:
        server.stop()
    assert asyncio.run(_dump(target_db))["tortoise_migrations"] == source["tortoise_migrations"]

    # --replace: the target's data goes, the source's comes again (in batches of two rows: post 5's key
    # into a later batch is filled in after the table)
    again = _fedi(env, "db", "copy", "--to", target_db, "--replace", "--batch-size", "2")
    assert again.returncode == 0, again.stderr
    assert asyncio.run(_dump(target_db)) == source

    # and back: PostgreSQL as the source, a new SQLite file as the target
    back_url = f"sqlite://{tmp_path / 'back' / 'fedi.sqlite3'}"
    back = _fedi(on_target, "db", "copy", "--to", back_url)
    assert back.returncode == 0, back.stderr
    assert asyncio.run(_dump(back_url)) == source
    again = _fedi(on_target, "db", "copy", "--to", back_url, "--replace")
    assert again.returncode == 0, again.stderr
    assert asyncio.run(_dump(back_url)) == source
