"""Live updates for the streaming API: a hub that watches the database for new posts, deletions
and notifications (so posts made by `fedi post` in another process stream too) and fans them out
to the subscribed websockets, each serialised for its own reader."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from tortoise.functions import Max

from fedi.models import Account, Follow, Notification, Post
from fedi.state import State

log = logging.getLogger("fedi.streaming")
POLL = 0.3
STREAMS = {"user", "user:notification", "public", "public:local", "public:remote", "public:media",
           "public:local:media", "public:remote:media", "hashtag", "hashtag:local"}


@dataclass(eq=False)
class Subscriber:
    account: Account | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    streams: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def send(self, stream: list[str], event: str, payload: str) -> None:
        message = orjson.dumps({"stream": stream, "event": event, "payload": payload}).decode()
        with contextlib.suppress(asyncio.QueueFull):  # a reader too slow to keep up loses events
            self.queue.put_nowait(message)


class StreamHub:
    def __init__(self, state: State) -> None:
        self.state = state
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task[None] | None = None
        self.last_post = 0
        self.last_note = 0
        self.since = datetime.now(UTC)

    async def subscribe(self, sub: Subscriber) -> None:
        if self.task is None or self.task.done():
            self.last_post = (await Post.annotate(m=Max("id")).first().values_list("m", flat=True)) or 0
            self.last_note = (await Notification.annotate(m=Max("id")).first().values_list("m", flat=True)) or 0
            self.since = datetime.now(UTC)
            self.task = asyncio.create_task(self._run())
        self.subscribers.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        while self.subscribers:
            try:
                await self.poll()
            except Exception:
                log.exception("streaming poll failed")
            await asyncio.sleep(POLL)

    async def poll(self) -> None:
        from fedi.api.serializers import notifications_json, statuses_json

        posts = await Post.filter(id__gt=self.last_post).order_by("id").limit(200)
        notes = await Notification.filter(id__gt=self.last_note).order_by("id").limit(200).select_related(
            "from_account", "post")
        now = datetime.now(UTC)
        deleted = await Post.filter(deleted_at__gte=self.since).values_list("id", flat=True)
        self.since = now
        if posts:
            self.last_post = posts[-1].id
        if notes:
            self.last_note = notes[-1].id
        for sub in list(self.subscribers):
            following = await self._following(sub)
            for post in posts:
                streams = self._streams_for(sub, post, following)
                if streams:
                    [doc] = await statuses_json(self.state, [post], sub.account)
                    payload = orjson.dumps(doc).decode()
                    for stream in streams:
                        sub.send(stream, "update", payload)
            if sub.account is not None and sub.streams & {"user", "user:notification"}:
                mine = [n for n in notes if n.account_id == sub.account.id]
                if mine:
                    for doc in await notifications_json(self.state, mine, sub.account):
                        sub.send(["user"] if "user" in sub.streams else ["user:notification"], "notification",
                                 orjson.dumps(doc).decode())
            for ident in deleted:
                for stream in sub.streams:
                    sub.send([stream], "delete", str(ident))

    async def _following(self, sub: Subscriber) -> set[int]:
        if sub.account is None or "user" not in sub.streams:
            return set()
        ids = await Follow.filter(follower=sub.account, accepted=True).values_list("target_id", flat=True)
        return {*ids, sub.account.id}

    def _streams_for(self, sub: Subscriber, post: Post, following: set[int]) -> list[list[str]]:
        out: list[list[str]] = []
        if "user" in sub.streams and post.account_id in following and post.visibility != "direct":
            out.append(["user"])
        if post.visibility != "public" or post.reblog_of_id is not None:
            return out
        for name in ("public", "public:local", "public:remote"):
            if name in sub.streams and (name == "public" or (name == "public:local") == post.local):
                out.append([name])
        names = {t.get("name", "").lstrip("#").lower() for t in post.tags}
        for tag in sub.tags & names:
            out.append(["hashtag", tag])
        return out


def parse_stream(name: str, tag: str | None) -> tuple[str, str | None]:
    if name not in STREAMS:
        raise ValueError(f"unknown stream {name!r}")
    if name.startswith("hashtag") and not tag:
        raise ValueError("the hashtag stream needs a tag")
    return name, (tag.lower().lstrip("#") if tag else None)
