"""The streaming API: an app subscribed to its user and public streams sees posts and notifications live."""

from __future__ import annotations

import asyncio

import orjson


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
