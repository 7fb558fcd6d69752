"""The streaming API, over a websocket and as HTTP event streams: an app subscribed to its user, public and
hashtag streams sees posts, edits, deletions and notifications live."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from io import BytesIO

import aiohttp
import orjson
import pytest
from quart.datastructures import FileStorage

from fedi.streaming import POLL
from tests.helpers import person, png_bytes, served_app
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM


async def _next(ws, event: str) -> dict:
    async with asyncio.timeout(5):
        while True:
            message = orjson.loads(await ws.receive())
            if message["event"] == event:
                return message


async def test_user_and_public_streams(app_ctx):
    inst = app_ctx
    alice, a_token = await inst.user("alice")
    _, b_token = await inst.user("bob")
    await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow", b_token)
    assert (await (await inst.client.get("/api/v1/streaming/health")).get_data()) == b"OK"
    async with inst.client.websocket(f"/api/v1/streaming?access_token={b_token}&stream=user") as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "hashtag", "tag": "owls"}).decode())
        await asyncio.sleep(0.1)
        status = await (await inst.api("POST", "/api/v1/statuses", a_token, json={"status": "hello #owls"})).get_json()
        update = await _next(ws, "update")
        assert orjson.loads(update["payload"])["id"] == status["id"]
        streams = {tuple(update["stream"])}
        second = await _next(ws, "update")
        streams.add(tuple(second["stream"]))
        assert streams == {("user",), ("hashtag", "owls")}
        mine = await (await inst.api("POST", "/api/v1/statuses", b_token, json={"status": "mine"})).get_json()
        await inst.api("POST", f"/api/v1/statuses/{mine['id']}/favourite", a_token)
        note = await _next(ws, "notification")
        assert orjson.loads(note["payload"])["type"] == "favourite"
        await inst.api("DELETE", f"/api/v1/statuses/{status['id']}", a_token)
        deleted = await _next(ws, "delete")
        assert deleted["payload"] == status["id"]


async def test_public_stream_without_a_token_and_bad_tokens(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    async with inst.client.websocket("/api/v1/streaming?stream=public:local") as ws:
        await asyncio.sleep(0.1)
        status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "for all"})).get_json()
        update = await _next(ws, "update")
        assert update["stream"] == ["public:local"] and orjson.loads(update["payload"])["id"] == status["id"]


# --- the HTTP event streams (server-sent events), as Mastodon.py and other clients read them ---

FELIX = "https://mastodon.madrid/users/felix"


class EventStream:
    """An event stream from the test client, read line by line as Mastodon.py parses it: `:` comments,
    `key: value` lines, an empty line ends an event."""

    def __init__(self, conn) -> None:
        self.conn, self.buffer, self.comments = conn, b"", []

    async def line(self) -> str:
        while b"\n" not in self.buffer:
            self.buffer += await self.conn.receive()
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    async def event(self) -> tuple[str, str]:
        fields: dict[str, str] = {}
        while True:
            line = await self.line()
            if line.startswith(":"):
                self.comments.append(line)
            elif line:
                key, _, value = line.partition(": ")
                fields[key] = f"{fields[key]}\n{value}" if key in fields else value
            elif fields:
                return fields["event"], fields["data"]

    async def next(self, name: str, seen: list[tuple[str, str]] | None = None) -> str:
        """The data of the next `name` event (within 5 s); the events passed over are appended to `seen`."""
        async with asyncio.timeout(5):
            while True:
                event, data = await self.event()
                if event == name:
                    return data
                if seen is not None:
                    seen.append((event, data))

    async def updates_until(self, last_id: str) -> list[str]:
        """The ids of the statuses streamed, up to and including `last_id`."""
        ids: list[str] = []
        while not ids or ids[-1] != last_id:
            ids.append(orjson.loads(await self.next("update"))["id"])
        return ids


@contextlib.asynccontextmanager
async def event_stream(inst, path: str, token: str | None = None) -> AsyncIterator[EventStream]:
    """Open an event stream; it is subscribed once the first comment (`:)`) is read. Hung up at the end."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with inst.client.request(path, headers=headers) as conn:
        await conn.send_complete()
        stream = EventStream(conn)
        try:
            async with asyncio.timeout(5):
                assert await stream.line() == ":)"
            assert conn.status_code == 200
            assert conn.headers["Content-Type"].startswith("text/event-stream")
            yield stream
        finally:
            await conn.disconnect()


async def _post(inst, token: str, text: str, *, image: bool = False) -> dict:
    body: dict = {"status": text}
    if image:
        files = {"file": FileStorage(BytesIO(png_bytes(40, 30)), filename="x.png", content_type="image/png")}
        media = await (await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                                              files=files, form={"description": "a fox"})).get_json()
        body["media_ids"] = [media["id"]]
    resp = await inst.api("POST", "/api/v1/statuses", token, json=body)
    assert resp.status_code == 200, await resp.get_data()
    return await resp.get_json()


def _note(n: int, text: str, **extra: object) -> dict:
    note = {"id": f"{FELIX}/statuses/{n}", "type": "Note", "attributedTo": FELIX, "content": f"<p>{text}</p>",
            "published": "2026-01-02T03:04:05Z", "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{FELIX}/followers"],
            "tag": [{"type": "Hashtag", "name": "#owls", "href": "https://mastodon.madrid/tags/owls"}], **extra}
    return note


def _activity(kind: str, note: dict, suffix: str) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/{suffix}", "type": kind,
            "actor": FELIX, "to": note["to"], "cc": note["cc"], "object": note}


async def test_event_stream_user_gets_updates_notifications_edits_and_deletes(app_ctx):
    inst = app_ctx
    alice, a_token = await inst.user("alice")
    _, b_token = await inst.user("bob")
    await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow", b_token)
    async with event_stream(inst, "/api/v1/streaming/user", b_token) as stream:
        assert stream.conn.headers["Cache-Control"] == "private, no-store"
        status = await _post(inst, a_token, "hello #owls")
        assert orjson.loads(await stream.next("update"))["id"] == status["id"]

        mine = await _post(inst, b_token, "mine")
        await inst.api("POST", f"/api/v1/statuses/{mine['id']}/favourite", a_token)
        note = orjson.loads(await stream.next("notification"))
        assert note["type"] == "favourite" and note["account"]["acct"] == "alice"
        assert note["status"]["id"] == mine["id"]

        resp = await inst.api("PUT", f"/api/v1/statuses/{status['id']}", a_token, json={"status": "hello again"})
        assert resp.status_code == 200
        edited = orjson.loads(await stream.next("status.update"))
        assert edited["id"] == status["id"] and "again" in edited["content"] and edited["edited_at"]

        await inst.api("DELETE", f"/api/v1/statuses/{status['id']}", a_token)
        assert await stream.next("delete") == status["id"]
        hub = inst.state.stream_hub
        assert len(hub.subscribers) == 1
    # the client hung up: its subscriber is gone, and the hub's poll loop ends with the last one
    assert hub.subscribers == set()
    async with asyncio.timeout(5):
        await hub.task


async def test_event_streams_public_local_remote_hashtag_and_media(app_ctx):
    from fedi.models import Follow
    inst = app_ctx
    alice, token = await inst.user("alice")
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=felix, accepted=True)
    paths = {"local": "/api/v1/streaming/public/local",
             "remote": f"/api/v1/streaming/public/remote?access_token={token}",
             "tag": "/api/v1/streaming/hashtag?tag=owls",
             "tag_local": "/api/v1/streaming/hashtag/local?tag=OWLS",
             "media": "/api/v1/streaming/public?only_media=true"}
    async with contextlib.AsyncExitStack() as stack:
        streams = {k: await stack.enter_async_context(event_stream(inst, p)) for k, p in paths.items()}
        local = await _post(inst, token, "local #owls")
        media = await _post(inst, token, "a picture", image=True)
        note = _note(1, "remote #owls")
        assert (await inst.deliver(_activity("Create", note, "activity"), f"{FELIX}#main-key",
                                   ALICE_PRIVATE_PEM)).status_code == 202
        remote = orjson.loads(await streams["remote"].next("update"))
        assert remote["uri"] == note["id"] and remote["account"]["acct"] == "felix@mastodon.madrid"
        last = await _post(inst, token, "the last #owls", image=True)
        assert await streams["local"].updates_until(last["id"]) == [local["id"], media["id"], last["id"]]
        assert await streams["tag"].updates_until(last["id"]) == [local["id"], remote["id"], last["id"]]
        assert await streams["tag_local"].updates_until(last["id"]) == [local["id"], last["id"]]
        assert await streams["media"].updates_until(last["id"]) == [media["id"], last["id"]]

        # a remote edit arrives late (its `updated` is a minute old): it streams all the same
        updated = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        edit = _note(1, "remote #owls, edited", updated=updated)
        assert (await inst.deliver(_activity("Update", edit, "update"), f"{FELIX}#main-key",
                                   ALICE_PRIVATE_PEM)).status_code == 202
        changed = orjson.loads(await streams["tag"].next("status.update"))
        assert changed["id"] == remote["id"] and "edited" in changed["content"]
    assert inst.state.stream_hub.subscribers == set()


async def test_event_stream_authentication_and_scopes(app_ctx):
    from fedi.accounts import create_token
    inst = app_ctx
    alice, a_token = await inst.user("alice")
    bob, _ = await inst.user("bob")
    for path, token, status in [("/api/v1/streaming/user", None, 401),
                                ("/api/v1/streaming/user/notification", None, 401),
                                ("/api/v1/streaming/public", "not-a-token", 401),
                                ("/api/v1/streaming/hashtag", None, 400),
                                ("/api/v1/streaming/hashtag/local?tag=", None, 400)]:
        resp = await inst.api("GET", path, token)
        assert resp.status_code == status, path
        assert "error" in await resp.get_json()
    notes_only = await create_token(bob, "read:notifications")
    assert (await inst.api("GET", "/api/v1/streaming/user", notes_only)).status_code == 403
    assert (await inst.api("GET", "/api/v1/streaming/public", notes_only)).status_code == 403
    async with event_stream(inst, "/api/v1/streaming/user/notification", notes_only) as stream:
        await inst.api("POST", f"/api/v1/accounts/{bob.id}/follow", a_token)
        assert orjson.loads(await stream.next("notification"))["type"] == "follow"
    # a token that may read statuses but not notifications gets the statuses only
    b_token = await create_token(bob)
    mine = await _post(inst, b_token, "bob's")
    async with event_stream(inst, "/api/v1/streaming/user", await create_token(bob, "read:statuses")) as stream:
        await inst.api("POST", f"/api/v1/statuses/{mine['id']}/favourite", a_token)
        await asyncio.sleep(3 * POLL)  # the notification is polled before the next post
        later = await _post(inst, b_token, "later")
        seen: list[tuple[str, str]] = []
        assert orjson.loads(await stream.next("update", seen))["id"] == later["id"]
        assert seen == []


async def test_event_stream_heartbeat(app_ctx, monkeypatch):
    import fedi.api.streaming
    monkeypatch.setattr(fedi.api.streaming, "HEARTBEAT", 0.2)
    async with event_stream(app_ctx, "/api/v1/streaming/public") as stream:
        async with asyncio.timeout(3):
            assert await stream.line() == ":thump"
            assert await stream.line() == ":thump"


async def test_streams_end_when_the_server_stops(app_ctx):
    """`fedi serve` closes the hub as it begins to stop: open streams end at once, instead of holding the
    shutdown for hypercorn's graceful timeout."""
    from quart.testing.connections import WebsocketDisconnectError
    inst = app_ctx
    async with event_stream(inst, "/api/v1/streaming/public") as stream, \
            inst.client.websocket("/api/v1/streaming?stream=public") as ws:
        hub = inst.state.stream_hub
        for _ in range(250):  # the websocket subscribes as it opens
            if len(hub.subscribers) == 2:
                break
            await asyncio.sleep(0.02)
        hub.close()
        async with asyncio.timeout(5):
            while (chunk := await stream.conn.receive()) != b"":  # the end of the response body
                assert chunk.startswith(b":")
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
        assert closed.value.args[0] == 1001
    assert hub.subscribers == set()


async def test_event_stream_is_streamed_by_hypercorn_and_a_hang_up_unsubscribes(database_url, tmp_path):
    """A real server: the response is chunked and arrives event by event; closing the socket ends the
    subscription."""
    from fedi.accounts import create_token, create_user
    writer = None
    async with served_app(database_url, tmp_path) as (app, port):
        try:
            async with aiohttp.ClientSession() as http, asyncio.timeout(20):
                token = await create_token(await create_user(app.state.urls, "alice"))
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"GET /api/v1/streaming/user HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                             f"Authorization: Bearer {token}\r\n\r\n".encode())
                await writer.drain()
                head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
                assert head.startswith("http/1.1 200") and "content-type: text/event-stream" in head
                assert "transfer-encoding: chunked" in head
                received = b""
                while b":)" not in received:
                    received += await reader.read(1024)
                async with http.post(f"http://127.0.0.1:{port}/api/v1/statuses", json={"status": "live"},
                                     headers={"Authorization": f"Bearer {token}"}) as r:
                    status = await r.json()
                while b"\n\n" not in received.partition(b"event: update\n")[2]:
                    received += await reader.read(4096)
                assert f'"id":"{status["id"]}"'.encode() in received
                hub = app.state.stream_hub
                assert len(hub.subscribers) == 1
                writer.close()
                await writer.wait_closed()
                writer = None
                for _ in range(100):  # hypercorn tells Quart of the hang-up, which cancels the response
                    if not hub.subscribers:
                        break
                    await asyncio.sleep(0.05)
                assert hub.subscribers == set()
        finally:
            if writer is not None:
                writer.close()


async def test_websocket_refuses_bad_tokens_and_checks_scopes(app_ctx):
    from quart.testing.connections import WebsocketDisconnectError, WebsocketResponseError

    from fedi.accounts import create_token
    inst = app_ctx
    alice, a_token = await inst.user("alice")
    bob, b_token = await inst.user("bob")
    for token in ("not-a-token", await create_token(bob, "write:statuses")):
        with pytest.raises((WebsocketResponseError, WebsocketDisconnectError)):
            async with inst.client.websocket(f"/api/v1/streaming?access_token={token}&stream=user") as ws:
                await ws.receive()
    # read:statuses without read:notifications: updates, but no notifications
    mine = await (await inst.api("POST", "/api/v1/statuses", b_token, json={"status": "bob's"})).get_json()
    statuses_only = await create_token(bob, "read:statuses")
    async with inst.client.websocket(f"/api/v1/streaming?access_token={statuses_only}&stream=user") as ws:
        await asyncio.sleep(0.1)
        await inst.api("POST", f"/api/v1/statuses/{mine['id']}/favourite", a_token)
        await asyncio.sleep(3 * POLL)
        later = await (await inst.api("POST", "/api/v1/statuses", b_token, json={"status": "later"})).get_json()
        async with asyncio.timeout(5):
            first = orjson.loads(await ws.receive())
        assert first["event"] == "update" and orjson.loads(first["payload"])["id"] == later["id"]


async def test_a_post_committed_after_a_later_id_still_streams(app_ctx):
    """On PostgreSQL a transaction can commit a lower id after a higher one was streamed: the hub looks back."""
    from fedi.models import Post
    inst = app_ctx
    _, token = await inst.user("alice")
    gap = await _post(inst, token, "to be made a gap")
    row = await Post.get(id=int(gap["id"]))
    await Post.filter(id=row.id).delete()
    async with event_stream(inst, "/api/v1/streaming/public/local") as stream:
        newer = await _post(inst, token, "newer")
        assert orjson.loads(await stream.next("update"))["id"] == newer["id"]
        values = {name: getattr(row, name) for name in Post._meta.db_fields if name != "id"}
        values["account_id"] = row.account_id
        await Post.create(id=row.id, **values)    # the lower id appears only now
        assert orjson.loads(await stream.next("update"))["id"] == gap["id"]
        await asyncio.sleep(3 * POLL)
        latest = await _post(inst, token, "latest")
        seen: list[tuple[str, str]] = []
        assert orjson.loads(await stream.next("update", seen))["id"] == latest["id"]
        assert seen == []   # nothing streamed twice
