"""One handler per activity type. Each runs inside the inbox transaction, after verification.

A handler that needs the network (an object we have not seen) raises NeedsFetch before writing
anything; the activity is then queued and the inbox worker fetches and applies it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F

from fedi.activitystreams import as_list, get_id, types
from fedi.ids import new_id
from fedi.models import Account, Follow, Like, Notification, Post, Tombstone
from fedi.state import State
from inbox.ai import remix_parent
from inbox.featured import on_add, on_remove
from inbox.notes import is_post, parse_time, store_note, update_note, visibility_of
from outbox.interact import answer_follow

log = logging.getLogger("fedi.inbox")


class NeedsFetch(Exception):
    """The activity refers to something we must fetch first: queue it."""


@dataclass
class Ctx:
    state: State
    doc: dict[str, Any]
    actor: Account           # the verified sender, == doc["actor"]
    fetched: dict[str, Any] | None = None   # what the worker fetched for a queued activity

    @property
    def object_id(self) -> str | None:
        return get_id(self.doc.get("object"))


Handler = Callable[[Ctx], Awaitable[None]]


async def _local_post(uri: str | None) -> Post | None:
    if not uri:
        return None
    return await Post.get_or_none(uri=uri, local=True, deleted_at=None, reblog_of=None)


async def _local_account(uri: str | None) -> Account | None:
    if not uri:
        return None
    return await Account.get_or_none(uri=uri, domain=None, actor_type="Person", suspended=False)


async def on_follow(ctx: Ctx) -> None:
    target = await _local_account(ctx.object_id)
    if target is None:
        return
    row = await Follow.get_or_none(follower=ctx.actor, target=target)
    if row is None:
        row = await Follow.create(uri=ctx.doc["id"], follower=ctx.actor, target=target, accepted=False)
        await Notification.create(account=target, from_account=ctx.actor,
                                  type="follow_request" if target.manually_approves_followers else "follow")
    elif row.uri != ctx.doc["id"]:
        row.uri = ctx.doc["id"]   # a re-sent Follow: answer the new id
        await row.save(update_fields=["uri"])
    if row.accepted or not target.manually_approves_followers:
        await answer_follow(ctx.state, target, row, accept=True)


async def on_like(ctx: Ctx) -> None:
    post = await _local_post(ctx.object_id)
    if post is None or await Like.exists(account=ctx.actor, post=post):
        return
    await Like.create(uri=ctx.doc["id"], account=ctx.actor, post=post)
    await Post.filter(id=post.id).update(favourites_count=F("favourites_count") + 1)
    await Notification.create(account_id=post.account_id, from_account=ctx.actor,
                              type="favourite", post=post)


async def _followed_by_local(account: Account) -> bool:
    return await Follow.exists(target=account, accepted=True, follower__domain=None)


async def on_announce(ctx: Ctx) -> None:
    obj_uri = ctx.object_id
    if not obj_uri or await Post.exists(uri=ctx.doc["id"]):
        return
    target = await Post.get_or_none(uri=obj_uri, deleted_at=None)
    if target is None:
        if not await _followed_by_local(ctx.actor):
            return
        if ctx.fetched is None:
            raise NeedsFetch(obj_uri)
        author = await Account.get(uri=get_id(ctx.fetched.get("attributedTo")))
        target = await store_note(ctx.fetched, author)
    elif not target.local and not await _followed_by_local(ctx.actor):
        return
    await Post.create(id=new_id(), uri=ctx.doc["id"], account=ctx.actor, local=False, reblog_of=target,
                      visibility=visibility_of(ctx.doc, ctx.actor.followers_url),
                      published=parse_time(ctx.doc.get("published")))
    await Post.filter(id=target.id).update(reblogs_count=F("reblogs_count") + 1)
    if target.local:
        await Notification.create(account_id=target.account_id, from_account=ctx.actor,
                                  type="reblog", post=target)


async def _mentioned_locals(doc: dict[str, Any], state: State) -> list[Account]:
    tags = [t for t in as_list(doc.get("tag")) if isinstance(t, dict)]
    uris = {get_id(t.get("href")) for t in tags if t.get("type") == "Mention"}
    uris |= {get_id(x) for x in as_list(doc.get("to")) + as_list(doc.get("cc"))}
    local = [u for u in uris if u and u.startswith(state.urls.base + "/users/")]
    return list(await Account.filter(uri__in=local, domain=None)) if local else []


async def on_create(ctx: Ctx) -> None:
    note = ctx.doc.get("object")
    if not is_post(note) or await Post.exists(uri=note["id"]):
        return
    parent_uri = get_id(note.get("inReplyTo"))
    parent = await Post.get_or_none(uri=parent_uri, deleted_at=None) if parent_uri else None
    remix_uri = remix_parent(note)
    remixed = await _local_post(remix_uri)
    mentioned = await _mentioned_locals(note, ctx.state)
    if parent is None and remixed is None and not mentioned and not await _followed_by_local(ctx.actor):
        return  # nobody here asked for it
    post = await store_note(note, ctx.actor)
    notify = {a.id: a for a in mentioned}
    if remixed is not None:
        # the parent's author hears of it as a remix (addressed, not @-mentioned in the text)
        tagged = {t.get("href") for t in as_list(note.get("tag")) if isinstance(t, dict) and t.get("type") == "Mention"}
        author = notify.get(remixed.account_id) or await remixed.account
        if author.uri not in tagged:
            notify.pop(author.id, None)
            await Notification.create(account=author, from_account=ctx.actor, type="remix", post=post)
    if parent is not None:
        await Post.filter(id=parent.id).update(replies_count=F("replies_count") + 1)
        if parent.local:
            notify.setdefault(parent.account_id, await parent.account)
    for account in notify.values():
        await Notification.create(account=account, from_account=ctx.actor, type="mention", post=post)


async def on_update(ctx: Ctx) -> None:
    obj = ctx.doc.get("object")
    if not isinstance(obj, dict):
        return
    if set(types(obj)) & {"Person", "Service", "Application", "Group", "Organization"}:
        if get_id(obj) == ctx.actor.uri:
            from fedi.actors import store_actor
            await store_actor(ctx.state, obj)
        return
    if is_post(obj):
        post = await Post.get_or_none(uri=obj["id"], account=ctx.actor, deleted_at=None)
        if post is not None:
            await update_note(post, obj, ctx.actor)


async def on_delete(ctx: Ctx) -> None:
    uri = ctx.object_id
    if not uri:
        return
    if uri == ctx.actor.uri:
        await _delete_actor(ctx.actor)
        return
    post = await Post.get_or_none(uri=uri, account=ctx.actor, deleted_at=None)
    if post is None:
        return
    await Post.filter(id=post.id).update(deleted_at=datetime.now(UTC))
    await Tombstone.get_or_create(uri=uri)
    if post.in_reply_to_id:
        await Post.filter(id=post.in_reply_to_id, replies_count__gt=0).update(
            replies_count=F("replies_count") - 1)
    if post.reblog_of_id:
        await Post.filter(id=post.reblog_of_id, reblogs_count__gt=0).update(
            reblogs_count=F("reblogs_count") - 1)


async def _delete_actor(actor: Account) -> None:
    """An account was deleted at its origin: its follows, likes, boosts and posts go."""
    for like in await Like.filter(account=actor).values("post_id"):
        await Post.filter(id=like["post_id"], favourites_count__gt=0).update(favourites_count=F("favourites_count") - 1)
    for boost in await Post.filter(account=actor, reblog_of_id__not_isnull=True).values("reblog_of_id"):
        await Post.filter(id=boost["reblog_of_id"], reblogs_count__gt=0).update(reblogs_count=F("reblogs_count") - 1)
    for reply in await Post.filter(account=actor, in_reply_to_id__not_isnull=True).values("in_reply_to_id"):
        await Post.filter(id=reply["in_reply_to_id"], replies_count__gt=0).update(replies_count=F("replies_count") - 1)
    await Follow.filter(follower=actor).delete()
    await Follow.filter(target=actor).delete()
    await Like.filter(account=actor).delete()
    await Notification.filter(from_account=actor).delete()
    await Post.filter(account=actor).delete()
    await Account.filter(id=actor.id).update(gone=True, public_key_pem="", suspended=True)


async def _undo_target(ctx: Ctx) -> tuple[str, str | None]:
    inner = ctx.doc.get("object")
    if isinstance(inner, dict):
        return str(inner.get("type") or ""), get_id(inner)
    return "", get_id(inner)


async def on_undo(ctx: Ctx) -> None:
    kind, inner_id = await _undo_target(ctx)
    raw_inner = ctx.doc.get("object")
    inner: dict[str, Any] = raw_inner if isinstance(raw_inner, dict) else {}
    if kind in ("Follow", "") :
        target = await _local_account(get_id(inner.get("object")))
        query = Follow.filter(follower=ctx.actor)
        query = query.filter(target=target) if target else query.filter(uri=inner_id)
        if await query.delete():
            return
    if kind in ("Like", "EmojiReact", ""):
        like = await Like.get_or_none(uri=inner_id, account=ctx.actor) if inner_id else None
        if like is None and isinstance(inner, dict):
            post = await _local_post(get_id(inner.get("object")))
            like = await Like.get_or_none(account=ctx.actor, post=post) if post else None
        if like is not None:
            await like.delete()
            await Post.filter(id=like.post_id, favourites_count__gt=0).update(
                favourites_count=F("favourites_count") - 1)
            return
    if kind in ("Announce", ""):
        boost = await Post.get_or_none(uri=inner_id, account=ctx.actor, reblog_of_id__not_isnull=True)
        if boost is not None:
            await boost.delete()
            await Post.filter(id=boost.reblog_of_id, reblogs_count__gt=0).update(
                reblogs_count=F("reblogs_count") - 1)
    if kind == "Block":
        return


async def _our_follow(ctx: Ctx) -> Follow | None:
    obj = ctx.doc.get("object")
    if isinstance(obj, dict) and obj.get("type") not in (None, "Follow"):
        return None  # e.g. GoToSocial accepting a Like or a reply: not about follows
    uri = get_id(obj)
    row = await Follow.get_or_none(uri=uri, target=ctx.actor) if uri else None
    if row is None and isinstance(obj, dict):
        follower = await _local_account(get_id(obj.get("actor")))
        row = await Follow.get_or_none(follower=follower, target=ctx.actor) if follower else None
    return row


async def on_accept(ctx: Ctx) -> None:
    row = await _our_follow(ctx)
    if row is not None and not row.accepted:
        await Follow.filter(id=row.id).update(accepted=True)


async def on_reject(ctx: Ctx) -> None:
    row = await _our_follow(ctx)
    if row is not None:
        await row.delete()


async def on_block(ctx: Ctx) -> None:
    target = await _local_account(ctx.object_id)
    if target is not None:
        await Follow.filter(follower=ctx.actor, target=target).delete()
        await Follow.filter(follower=target, target=ctx.actor).delete()


HANDLERS: dict[str, Handler] = {
    "Follow": on_follow,
    "Undo": on_undo,
    "Like": on_like,
    "EmojiReact": on_like,
    "Announce": on_announce,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Accept": on_accept,
    "Reject": on_reject,
    "Block": on_block,
    "Add": on_add,
    "Remove": on_remove,
}
