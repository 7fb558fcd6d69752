"""What a local account does to others: like, boost, follow and their undos, pins, delivered where needed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F

from fedi.db import atomic
from fedi.errors import BadRequest, Unprocessable
from fedi.ids import new_id
from fedi.models import Account, Activity, Follow, Like, Notification, Post
from fedi.state import State
from fedi.urls import AS_PUBLIC
from outbox import build
from outbox.publish import enqueue, follower_inboxes, inbox_of


async def _undo(state: State, actor: Account, activity_uri: str, inboxes: set[str], post_id: int | None) -> None:
    stored = await Activity.get_or_none(uri=activity_uri)
    if stored is not None:
        await enqueue(state, actor, build.undo(actor.uri, stored.body), inboxes, post_id=post_id, store=False)


async def favourite(state: State, actor: Account, post: Post) -> Post:
    author = await post.account

    async def work() -> None:
        if await Like.exists(account=actor, post=post):
            return
        uri = state.urls.activity(actor.username, "likes", uuid.uuid4().hex)
        await Like.create(uri=uri, account=actor, post=post)
        await Post.filter(id=post.id).update(favourites_count=F("favourites_count") + 1)
        if author.local:
            if author.id != actor.id:
                await Notification.create(account=author, from_account=actor, type="favourite", post=post)
        else:
            await enqueue(state, actor, build.like(uri, actor.uri, post.uri), [author.inbox], post_id=post.id)

    await atomic(work)
    state.wake_delivery()
    return await Post.get(id=post.id)


async def unfavourite(state: State, actor: Account, post: Post) -> Post:
    author = await post.account

    async def work() -> None:
        like = await Like.get_or_none(account=actor, post=post)
        if like is None:
            return
        await like.delete()
        await Post.filter(id=post.id, favourites_count__gt=0).update(favourites_count=F("favourites_count") - 1)
        if not author.local:
            await _undo(state, actor, like.uri, {author.inbox}, post.id)
        await Activity.filter(uri=like.uri).update(public=False)

    await atomic(work)
    state.wake_delivery()
    return await Post.get(id=post.id)


async def reblog(state: State, actor: Account, post: Post) -> Post:
    if post.visibility not in ("public", "unlisted"):
        raise BadRequest("only public and unlisted posts can be boosted")
    author = await post.account
    existing = await Post.get_or_none(account=actor, reblog_of=post, deleted_at=None)
    if existing is not None:
        return existing

    async def work() -> Post:
        ident = new_id()
        uri = state.urls.activity(actor.username, "boosts", ident)
        now = datetime.now(UTC)
        to, cc = [AS_PUBLIC], [state.urls.followers(actor.username), author.uri]
        boost = await Post.create(id=ident, uri=uri, account=actor, local=True, reblog_of=post,
                                  visibility="public", to=to, cc=cc, published=now)
        await Post.filter(id=post.id).update(reblogs_count=F("reblogs_count") + 1)
        inboxes = await follower_inboxes(actor)
        if author.local:
            if author.id != actor.id:
                await Notification.create(account=author, from_account=actor, type="reblog", post=post)
        else:
            inboxes.add(inbox_of(author))
        await enqueue(state, actor, build.announce(uri, actor.uri, post.uri, to, cc, now), inboxes,
                      post_id=post.id)
        return boost

    boost = await atomic(work)
    state.wake_delivery()
    return boost


async def unreblog(state: State, actor: Account, post: Post) -> Post:
    author = await post.account

    async def work() -> None:
        boost = await Post.get_or_none(account=actor, reblog_of=post, deleted_at=None)
        if boost is None:
            return
        await boost.delete()
        await Post.filter(id=post.id, reblogs_count__gt=0).update(reblogs_count=F("reblogs_count") - 1)
        inboxes = await follower_inboxes(actor)
        if not author.local:
            inboxes.add(inbox_of(author))
        await _undo(state, actor, boost.uri, inboxes, post.id)
        await Activity.filter(uri=boost.uri).update(public=False)

    await atomic(work)
    state.wake_delivery()
    return await Post.get(id=post.id)


PIN_LIMIT = 5   # Mastodon's StatusPinValidator::PIN_LIMIT


def pin_problem(actor: Account, post: Post) -> str | None:
    """Why `actor` may not pin `post`, in Mastodon's words (statuses.pin_errors), or None. Unlike Mastodon
    since 3.5, followers-only posts cannot be pinned: fedi does not serve them to anyone (no signed fetch)."""
    if post.reblog_of_id is not None:
        return "A boost cannot be pinned"
    if post.account_id != actor.id:
        return "Someone else's post cannot be pinned"
    if post.visibility == "direct":
        return "Posts that are only visible to mentioned users cannot be pinned"
    if post.visibility not in ("public", "unlisted"):
        return "Non-public toot cannot be pinned"
    return None


async def pin(state: State, actor: Account, post: Post) -> Post:
    """Feature one's own post on one's profile (at most PIN_LIMIT); an Add goes to the followers.
    Pinning a pinned post changes nothing."""
    problem = pin_problem(actor, post)
    if problem is not None:
        raise Unprocessable(f"Validation failed: {problem}")

    async def work() -> bool:
        # The account's row lock makes concurrent pins count one after another (PostgreSQL; SQLite's
        # BEGIN IMMEDIATE already does): without it, two pins could both see four and leave six.
        await Account.filter(id=actor.id).select_for_update().only("id")
        if await Post.exists(id=post.id, pinned_at__not_isnull=True):
            return False
        if await Post.filter(account_id=actor.id, pinned_at__not_isnull=True, deleted_at=None).count() >= PIN_LIMIT:
            raise Unprocessable("Validation failed: You have already pinned the maximum number of posts")
        await Post.filter(id=post.id).update(pinned_at=datetime.now(UTC))
        await _send_featured_change(state, actor, post, build.add, "add")
        return True

    return await _featured_change(state, post, work)


async def unpin(state: State, actor: Account, post: Post) -> Post:
    """Take one's post off one's profile; a Remove goes to the followers. Anything else is a no-op."""

    async def work() -> bool:
        if not await Post.filter(id=post.id, account_id=actor.id, pinned_at__not_isnull=True).update(pinned_at=None):
            return False
        await _send_featured_change(state, actor, post, build.remove, "remove")
        return True

    return await _featured_change(state, post, work)


async def _send_featured_change(state: State, actor: Account, post: Post, builder: Any, kind: str) -> None:
    """Queue the Add or Remove of `post` to/from the actor's featured collection for every follower."""
    doc = builder(f"{actor.uri}#{kind}/{uuid.uuid4().hex}", actor.uri, post.uri, state.urls.featured(actor.username))
    await enqueue(state, actor, doc, await follower_inboxes(actor), post_id=post.id, store=False)


async def _featured_change(state: State, post: Post, work: Callable[[], Awaitable[bool]]) -> Post:
    """Run a pin/unpin transaction; wake delivery when it queued something; the post as it now is."""
    if await atomic(work):
        state.wake_delivery()
    return await Post.get(id=post.id)


async def follow(state: State, actor: Account, target: Account) -> Follow:
    if target.id == actor.id:
        raise BadRequest("you cannot follow yourself")

    async def work() -> Follow:
        existing = await Follow.get_or_none(follower=actor, target=target)
        if existing is not None:
            return existing
        uri = state.urls.activity(actor.username, "follows", uuid.uuid4().hex)
        if target.local:
            accepted = not target.manually_approves_followers
            row = await Follow.create(uri=uri, follower=actor, target=target, accepted=accepted)
            await Notification.create(account=target, from_account=actor,
                                      type="follow" if accepted else "follow_request")
            return row
        row = await Follow.create(uri=uri, follower=actor, target=target, accepted=False)
        await enqueue(state, actor, build.follow(uri, actor.uri, target.uri), [target.inbox], public=False)
        return row

    row = await atomic(work)
    state.wake_delivery()
    return row


async def unfollow(state: State, actor: Account, target: Account) -> None:
    async def work() -> None:
        row = await Follow.get_or_none(follower=actor, target=target)
        if row is None:
            return
        await row.delete()
        if not target.local:
            doc = build.follow(row.uri, actor.uri, target.uri)
            await enqueue(state, actor, build.undo(actor.uri, doc), [target.inbox], public=False, store=False)

    await atomic(work)
    state.wake_delivery()


async def answer_follow(state: State, target: Account, row: Follow, *, accept: bool) -> None:
    """Accept or reject a follow request addressed to a local account (call inside a transaction)."""
    follower = await row.follower
    follow_doc = build.follow(row.uri, follower.uri, target.uri)
    ident = state.urls.activity(target.username, "accepts" if accept else "rejects", uuid.uuid4().hex)
    if accept:
        await Follow.filter(id=row.id).update(accepted=True)
        doc = build.accept(ident, target.uri, follow_doc)
    else:
        await row.delete()
        doc = build.reject(ident, target.uri, follow_doc)
    if not follower.local:
        await enqueue(state, target, doc, [follower.inbox], public=False)
