"""Live updates for the streaming API: a hub that watches the database for new, edited and deleted posts
and for notifications (so posts made by `fedi post` in another process stream too) and fans them out to
the subscribed connections (websocket or HTTP event stream), each serialised for its own reader."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import orjson
from tortoise.expressions import Q
from tortoise.functions import Max

from fedi.models import Account, Follow, Media, Notification, Post
from fedi.state import State

log = logging.getLogger("fedi.streaming")
POLL = 0.3
# edits are found by edited_at, which for a remote post is the remote's `updated` time: look back this far
EDIT_WINDOW = timedelta(minutes=10)
STREAMS = {"user", "user:notification", "public", "public:local", "public:remote", "public:media",
           "public:local:media", "public:remote:media", "hashtag", "hashtag:local"}
PUBLIC = ("public", "public:local", "public:remote")
# Ids are taken before a transaction commits, so a post or notification can appear after one with a
# higher id was streamed (a `fedi post` in another process, concurrent transactions on PostgreSQL). Each
# poll looks back this far for such late arrivals: post ids are time-ordered (fedi/ids.py: milliseconds
# << 16), so 10 s of them; notification ids come from the database's sequence, so 64 of them.
LOOKBACK_POSTS = 10_000 << 16
LOOKBACK_NOTES = 64

# (stream, event, payload): the stream as Mastodon names it (["hashtag", "owls"]), the event name
# (update, status.update, delete, notification) and the payload (JSON text, or a status id for delete)
Event = tuple[list[str], str, str]


@dataclass(eq=False)
class Subscriber:
    account: Account | None
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(maxsize=500))  # None: the end
    streams: set[str] = field(default_factory=set)
    tags: set[tuple[str, str]] = field(default_factory=set)   # ("hashtag" | "hashtag:local", tag)
    notifications: bool = True   # False for an event stream whose token lacks read:notifications
    # what existed when it subscribed: ids up to `after` (post, notification), and those in `existing`
    after: tuple[int, int] = (0, 0)
    existing: tuple[set[int], set[int]] = (set(), set())

    def new_post(self, post_id: int) -> bool:
        return post_id > self.after[0] and post_id not in self.existing[0]

    def new_note(self, note_id: int) -> bool:
        return note_id > self.after[1] and note_id not in self.existing[1]

    def send(self, stream: list[str], event: str, payload: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a reader too slow to keep up loses events
            self.queue.put_nowait((stream, event, payload))

    def end(self) -> None:
        """Tell the connection to close (the server is stopping), ahead of any event it has not read."""
        with contextlib.suppress(asyncio.QueueEmpty):
            if self.queue.full():
                self.queue.get_nowait()
        self.queue.put_nowait(None)


class StreamHub:
    def __init__(self, state: State) -> None:
        self.state = state
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task[None] | None = None
        self.last_post = 0
        self.last_note = 0
        self.since = datetime.now(UTC)
        self.edits: dict[int, datetime] = {}   # post id -> the edited_at already streamed
        self.seen: tuple[set[int], set[int]] = (set(), set())   # post and notification ids within LOOKBACK
        self.closed = False

    async def subscribe(self, sub: Subscriber) -> None:
        """Start streaming to `sub` what happens from now on (not what the running poll has yet to see)."""
        last_post = cast(int | None, await Post.annotate(m=Max("id")).first().values_list("m", flat=True)) or 0
        last_note = cast(int | None, await Notification.annotate(m=Max("id")).first().values_list("m", flat=True)) or 0
        recent = (set(cast(list[int], await Post.filter(id__gt=last_post - LOOKBACK_POSTS)
                           .values_list("id", flat=True))),
                  set(cast(list[int], await Notification.filter(id__gt=last_note - LOOKBACK_NOTES)
                           .values_list("id", flat=True))))
        sub.after, sub.existing = (last_post - LOOKBACK_POSTS, last_note - LOOKBACK_NOTES), recent
        if self.closed:
            sub.end()
        if self.task is None or self.task.done():
            self.last_post, self.last_note = last_post, last_note
            self.seen = (set(recent[0]), set(recent[1]))
            self.since = datetime.now(UTC)
            self.edits = dict(await Post.filter(edited_at__gte=self.since - EDIT_WINDOW)
                              .values_list("id", "edited_at"))
            self.task = asyncio.create_task(self._run())
        self.subscribers.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close(self) -> None:
        """The server is stopping: end every open stream now (hypercorn waits for open requests)."""
        self.closed = True
        for sub in list(self.subscribers):
            sub.end()

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

        now = datetime.now(UTC)
        seen_posts, seen_notes = self.seen
        # ids first (the primary key index alone), then whole rows for the ones not streamed yet
        recent = cast(list[int], await Post.filter(id__gt=self.last_post - LOOKBACK_POSTS).values_list("id", flat=True))
        unseen = sorted(i for i in recent if i not in seen_posts)[:200]
        posts = await Post.filter(id__in=unseen, deleted_at=None).order_by("id") if unseen else []
        notes = [n for n in await Notification.filter(id__gt=self.last_note - LOOKBACK_NOTES).order_by("id")
                 .limit(200 + LOOKBACK_NOTES).select_related("from_account", "post") if n.id not in seen_notes]
        # one look at the posts deleted since the last poll and those edited lately (neither is indexed)
        changed = await Post.filter(Q(deleted_at__gte=self.since) | Q(edited_at__gte=now - EDIT_WINDOW))
        deleted = [p.id for p in changed if p.deleted_at is not None and p.deleted_at >= self.since]
        edited = self._edited([p for p in changed if p.deleted_at is None and p.edited_at is not None])
        self.since = now
        if posts:
            self.last_post = max(self.last_post, posts[-1].id)
        if notes:
            self.last_note = max(self.last_note, notes[-1].id)
        self.seen = ({i for i in (*seen_posts, *(p.id for p in posts)) if i > self.last_post - LOOKBACK_POSTS},
                     {i for i in (*seen_notes, *(n.id for n in notes)) if i > self.last_note - LOOKBACK_NOTES})
        media = set(cast(list[int], await Media.filter(post_id__in=[p.id for p in [*posts, *edited]])
                         .values_list("post_id", flat=True)))
        for sub in list(self.subscribers):
            following = await self._following(sub)
            for event, batch in (("update", [p for p in posts if sub.new_post(p.id)]), ("status.update", edited)):
                for post in batch:
                    streams = self._streams_for(sub, post, following, post.id in media)
                    if streams:
                        [doc] = await statuses_json(self.state, [post], sub.account)
                        payload = orjson.dumps(doc).decode()
                        for stream in streams:
                            sub.send(stream, event, payload)
            if sub.account is not None and sub.notifications and sub.streams & {"user", "user:notification"}:
                mine = [n for n in notes if n.account_id == sub.account.id and sub.new_note(n.id)]
                if mine:
                    for doc in await notifications_json(self.state, mine, sub.account):
                        sub.send(["user"] if "user" in sub.streams else ["user:notification"], "notification",
                                 orjson.dumps(doc).decode())
            for ident in deleted:
                for name in sub.streams:
                    sub.send([name], "delete", str(ident))

    def _edited(self, recent: list[Post]) -> list[Post]:
        """Of the posts edited within EDIT_WINDOW, those with an edit not streamed yet (new posts aside:
        they stream as `update`, edited or not)."""
        changed = [p for p in recent if p.id <= self.last_post and self.edits.get(p.id) != p.edited_at]
        self.edits = {p.id: p.edited_at for p in recent if p.edited_at is not None}
        return changed

    async def _following(self, sub: Subscriber) -> set[int]:
        if sub.account is None or "user" not in sub.streams:
            return set()
        ids = await Follow.filter(follower=sub.account, accepted=True).values_list("target_id", flat=True)
        return {*ids, sub.account.id}

    def _streams_for(self, sub: Subscriber, post: Post, following: set[int], has_media: bool) -> list[list[str]]:
        out: list[list[str]] = []
        if "user" in sub.streams and post.account_id in following and post.visibility != "direct":
            out.append(["user"])
        if post.visibility != "public" or post.reblog_of_id is not None:
            return out
        for name in PUBLIC:
            if name == "public" or (name == "public:local") == post.local:
                out.extend([stream] for stream in (name, f"{name}:media")
                           if stream in sub.streams and (has_media or stream == name))
        names = {t.get("name", "").lstrip("#").lower() for t in post.tags}
        for name, tag in sorted(sub.tags):
            if tag in names and (name == "hashtag" or post.local):
                out.append([name, tag])
        return out


def parse_stream(name: str, tag: str | None) -> tuple[str, str | None]:
    if name not in STREAMS:
        raise ValueError(f"unknown stream {name!r}")
    if name.startswith("hashtag") and not tag:
        raise ValueError("the hashtag stream needs a tag")
    return name, (tag.lower().lstrip("#") if tag else None)
