"""Mastodon's streaming API: the websocket /api/v1/streaming (user, public, hashtag streams, several on
one connection) and the HTTP event streams /api/v1/streaming/user, /public, /hashtag, ... (one stream per
connection, as server-sent events: `event: update` / `data: {...}`, and a `:thump` comment every 15 s).
Both are fed by the StreamHub in fedi/streaming.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson
from quart import Blueprint, Response, request, websocket

from fedi.accounts import token_row
from fedi.api.auth import current_token, optional_account, scope_covers
from fedi.errors import BadRequest, Unauthorized
from fedi.models import Account
from fedi.streaming import Event, StreamHub, Subscriber, parse_stream
from fedi.web.common import st

bp = Blueprint("api_streaming", __name__)
HEARTBEAT = 15.0  # seconds between `:thump` comments on an event stream, as Mastodon sends them
# the HTTP event-stream paths and the stream each one is; ?only_media=true makes public ones ":media"
EVENT_STREAMS = {
    "/api/v1/streaming/user": "user",
    "/api/v1/streaming/user/notification": "user:notification",
    "/api/v1/streaming/public": "public",
    "/api/v1/streaming/public/local": "public:local",
    "/api/v1/streaming/public/remote": "public:remote",
    "/api/v1/streaming/hashtag": "hashtag",
    "/api/v1/streaming/hashtag/local": "hashtag:local",
}
FALSE = {"", "0", "f", "false", "off", "no", "n"}


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
            sub.tags.add((name, tag_name))
    elif kind == "unsubscribe":
        if tag_name:
            sub.tags.discard((name, tag_name))
        else:
            sub.streams.discard(name)


def ws_message(event: Event) -> str:
    stream, name, payload = event
    return orjson.dumps({"stream": stream, "event": name, "payload": payload}).decode()


def sse_message(event: Event) -> bytes:
    _, name, payload = event
    data = "".join(f"data: {line}\n" for line in payload.split("\n"))
    return f"event: {name}\n{data}\n".encode()


@bp.websocket("/api/v1/streaming")
async def streaming() -> None:
    token = websocket.args.get("access_token") or websocket.headers.get("Sec-WebSocket-Protocol") or ""
    auth = websocket.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
    account, notifications = None, False
    if token:
        # As Mastodon: a token needs read:statuses (or read:notifications, for notifications only);
        # notifications go only to a token with read:notifications.
        try:
            row = await token_row(token)
        except Unauthorized:
            await websocket.close(4001, "invalid access token")
            return
        granted = frozenset(row.scopes.split())
        notifications = scope_covers(granted, "read:notifications")
        if row.account is None or row.account.suspended:
            await websocket.close(4001, "This method requires an authenticated user")
            return
        if not notifications and not scope_covers(granted, "read:statuses"):
            await websocket.close(4001, "This action is outside the authorized scopes")
            return
        account = row.account
    protocol = websocket.headers.get("Sec-WebSocket-Protocol")
    await websocket.accept(subprotocol=protocol if protocol and protocol == token else None)
    sub = Subscriber(account, notifications=notifications)
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
                event = getter.result()
                if event is None:  # the server is stopping
                    await websocket.close(1001, "server stopping")
                    break
                await websocket.send(ws_message(event))
            else:
                getter.cancel()
    finally:
        task.cancel()
        hub.unsubscribe(sub)


async def _stream_account(name: str) -> tuple[Account | None, bool]:
    """Who reads the stream, and whether they get notifications. As Mastodon asks: the user streams
    need a user token with read:statuses (read:notifications for user:notification; `user` carries
    notifications only when the token has it too); the public and hashtag streams are open without a
    token, as on the websocket, and need read:statuses with one."""
    if not name.startswith("user"):
        return await optional_account("read:statuses"), False
    row = await current_token("read:notifications" if name == "user:notification" else "read:statuses")
    if row.account is None or row.account.suspended:
        raise Unauthorized("This method requires an authenticated user")
    return row.account, scope_covers(frozenset(row.scopes.split()), "read:notifications")


async def _events(hub: StreamHub, sub: Subscriber) -> AsyncIterator[bytes]:
    """The event stream: subscribed before the first byte (`:)`) goes out, unsubscribed when the client
    goes away (Quart cancels the response on http.disconnect); it ends when the server stops."""
    await hub.subscribe(sub)
    try:
        yield b":)\n"
        loop = asyncio.get_running_loop()
        beat = loop.time() + HEARTBEAT
        while True:
            try:
                async with asyncio.timeout_at(beat):
                    event = await sub.queue.get()
            except TimeoutError:
                beat = loop.time() + HEARTBEAT
                yield b":thump\n"
                continue
            if event is None:  # the server is stopping: end the response
                return
            yield sse_message(event)
    finally:
        hub.unsubscribe(sub)


async def event_stream() -> Response:
    name = EVENT_STREAMS[request.path.rstrip("/")]
    if name.startswith("public") and request.args.get("only_media", "").lower() not in FALSE:
        name += ":media"
    try:
        name, tag = parse_stream(name, request.args.get("tag"))
    except ValueError as exc:
        raise BadRequest("No tag for stream provided") from exc
    account, notifications = await _stream_account(name)
    sub = Subscriber(account, streams={name}, notifications=notifications)
    if tag:
        sub.tags.add((name, tag))
    response = Response(_events(_hub(), sub), content_type="text/event-stream",
                        headers={"Cache-Control": "private, no-store", "X-Accel-Buffering": "no"})
    response.timeout = None  # streamed for as long as the client stays
    return response


for _path, _name in EVENT_STREAMS.items():
    bp.add_url_rule(_path, f"stream_{_name.replace(':', '_')}", event_stream, methods=["GET"])
