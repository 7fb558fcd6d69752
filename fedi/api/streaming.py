"""Mastodon's streaming API over a websocket: /api/v1/streaming (user, public, hashtag streams)."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from quart import Blueprint, Response, websocket

from fedi.accounts import account_for_token
from fedi.errors import Unauthorized
from fedi.streaming import StreamHub, Subscriber, parse_stream
from fedi.web.common import st

bp = Blueprint("api_streaming", __name__)


@bp.get("/api/v1/streaming/health")
async def health() -> Response:
    return Response("OK", content_type="text/plain")


def _hub() -> StreamHub:
    s = st()
    if s.stream_hub is None:
        s.stream_hub = StreamHub(s)
    return s.stream_hub


def _apply(sub: Subscriber, message: dict[str, object]) -> None:
    kind, stream, tag = message.get("type"), str(message.get("stream") or ""), message.get("tag")
    try:
        name, tag_name = parse_stream(stream, str(tag) if tag else None)
    except ValueError:
        return
    if name.startswith("user") and sub.account is None:
        return
    if kind == "subscribe":
        sub.streams.add(name)
        if tag_name:
            sub.tags.add(tag_name)
    elif kind == "unsubscribe":
        if tag_name:
            sub.tags.discard(tag_name)
        else:
            sub.streams.discard(name)


@bp.websocket("/api/v1/streaming")
async def streaming() -> None:
    token = websocket.args.get("access_token") or websocket.headers.get("Sec-WebSocket-Protocol") or ""
    auth = websocket.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
    account = None
    if token:
        try:
            account = await account_for_token(token)
        except Unauthorized:
            await websocket.close(4001, "invalid access token")
            return
    protocol = websocket.headers.get("Sec-WebSocket-Protocol")
    await websocket.accept(subprotocol=protocol if protocol and protocol == token else None)
    sub = Subscriber(account)
    if websocket.args.get("stream"):
        _apply(sub, {"type": "subscribe", "stream": websocket.args["stream"], "tag": websocket.args.get("tag")})
    hub = _hub()
    await hub.subscribe(sub)

    async def reader() -> None:
        while True:
            raw = await websocket.receive()
            with contextlib.suppress(ValueError, TypeError):
                message = orjson.loads(raw)
                if isinstance(message, dict):
                    _apply(sub, message)

    task = asyncio.create_task(reader())
    try:
        while not task.done():
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send(getter.result())
            else:
                getter.cancel()
    finally:
        task.cancel()
        hub.unsubscribe(sub)
