"""Add and Remove to a remote actor's featured collection: the posts it pins (Mastodon's pins).

Other uses of Add/Remove (featured hashtags, someone else's collections, objects fedi does not have) are
ignored: a pinned post fedi has never seen is not fetched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fedi.activitystreams import get_id
from fedi.actors import host_of
from fedi.models import Post

if TYPE_CHECKING:
    from inbox.handlers import Ctx


def _is_featured(ctx: Ctx, target: str | None) -> bool:
    """Whether `target` is the sender's featured collection: as its actor document names it, or, for an
    actor cached before fedi stored that, a collection on its host that is none of its others."""
    actor = ctx.actor
    if not target:
        return False
    if actor.featured_url:
        return target == actor.featured_url
    return host_of(target) == host_of(actor.uri) and target not in (
        actor.uri, actor.outbox, actor.followers_url, actor.following_url)


async def _own_post(ctx: Ctx) -> Post | None:
    if not _is_featured(ctx, get_id(ctx.doc.get("target"))) or not ctx.object_id:
        return None
    return await Post.get_or_none(uri=ctx.object_id, account=ctx.actor, deleted_at=None, reblog_of=None)


async def on_add(ctx: Ctx) -> None:
    post = await _own_post(ctx)
    if post is not None and post.pinned_at is None:
        await Post.filter(id=post.id).update(pinned_at=datetime.now(UTC))


async def on_remove(ctx: Ctx) -> None:
    post = await _own_post(ctx)
    if post is not None and post.pinned_at is not None:
        await Post.filter(id=post.id).update(pinned_at=None)
