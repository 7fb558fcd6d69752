"""The rest of what Mastodon apps call: bookmarks, favourited_by / reblogged_by, edit history,
blocks and mutes, markers, preferences, custom emojis and trends (filters are in filters.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Blueprint, Response

from fedi import edits
from fedi.api.accounts import account_or_404, relationship
from fedi.api.auth import optional_account, require_account
from fedi.api.paging import page, paged_response
from fedi.api.serializers import accounts_json, iso, media_json, one_account, status_json, statuses_json
from fedi.api.statuses import visible_post
from fedi.db import atomic
from fedi.errors import BadRequest, NotFound
from fedi.models import Block, Bookmark, Follow, Like, Marker, Post, StatusEdit
from fedi.web.common import int_param, json_response, params, st
from outbox import build
from outbox.publish import enqueue

bp = Blueprint("api_extras", __name__)


@bp.get("/api/v1/custom_emojis")
async def custom_emojis() -> Response:
    return json_response([])


@bp.get("/api/v1/preferences")
async def preferences() -> Response:
    await require_account()
    return json_response({"posting:default:visibility": "public", "posting:default:sensitive": False,
                          "posting:default:language": None, "reading:expand:media": "default",
                          "reading:expand:spoilers": False})


@bp.get("/api/v1/bookmarks")
async def bookmarks() -> Response:
    me = await require_account()
    rows = await page(Bookmark.filter(account=me, post__deleted_at=None).select_related("post"), await params())
    return paged_response(await statuses_json(st(), [r.post for r in rows], me), [r.id for r in rows])


@bp.post("/api/v1/statuses/<post_id>/bookmark")
async def bookmark(post_id: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    await Bookmark.get_or_create(account=me, post=post)
    return json_response(await status_json(st(), post, me))


@bp.post("/api/v1/statuses/<post_id>/unbookmark")
async def unbookmark(post_id: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    await Bookmark.filter(account=me, post=post).delete()
    return json_response(await status_json(st(), post, me))


async def _who(post_id: str, query_of: Any) -> Response:
    viewer = await optional_account()
    post = await visible_post(post_id, viewer)
    args = await params()
    rows = await page(query_of(post), args)
    people = [r.account for r in rows]
    return paged_response(await accounts_json(st(), people), [r.id for r in rows])


@bp.get("/api/v1/statuses/<post_id>/favourited_by")
async def favourited_by(post_id: str) -> Response:
    return await _who(post_id, lambda p: Like.filter(post=p).select_related("account"))


@bp.get("/api/v1/statuses/<post_id>/reblogged_by")
async def reblogged_by(post_id: str) -> Response:
    return await _who(post_id, lambda p: Post.filter(reblog_of=p, deleted_at=None).select_related("account"))


@bp.get("/api/v1/statuses/<post_id>/history")
async def history(post_id: str) -> Response:
    viewer = await optional_account()
    post = await visible_post(post_id, viewer)
    author = (await one_account(st(), await post.account))
    current = await status_json(st(), post, viewer)
    versions = [{"content": e.content, "spoiler_text": e.spoiler_text, "sensitive": e.sensitive,
                 "created_at": iso(e.created_at), "account": author,
                 "media_attachments": [media_json(st(), m) for m in edits.restore(e)], "emojis": []}
                for e in await StatusEdit.filter(post=post).order_by("id")]
    versions.append({"content": current["content"], "spoiler_text": current["spoiler_text"],
                     "sensitive": current["sensitive"], "created_at": current["edited_at"] or current["created_at"],
                     "account": author, "media_attachments": current["media_attachments"], "emojis": []})
    return json_response(versions)


@bp.get("/api/v1/statuses/<post_id>/source")
async def source(post_id: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    if post.account_id != me.id:
        raise NotFound("Record not found")
    return json_response({"id": str(post.id), "text": post.text, "spoiler_text": post.spoiler_text})


async def _block(account_id: str, kind: str, on: bool) -> Response:
    me = await require_account()
    other = await account_or_404(account_id)
    if other.id == me.id:
        raise BadRequest(f"you cannot {kind} yourself")
    s = st()

    async def work() -> None:
        row = await Block.get_or_none(kind=kind, account=me, target=other)
        if on and row is None:
            uri = s.urls.activity(me.username, "blocks", uuid.uuid4().hex) if kind == "block" else None
            await Block.create(kind=kind, account=me, target=other, uri=uri)
            if kind == "block":
                await Follow.filter(follower=me, target=other).delete()
                await Follow.filter(follower=other, target=me).delete()
                if not other.local and uri:
                    await enqueue(s, me, build.activity("Block", uri, me.uri, other.uri), [other.inbox], public=False)
        elif not on and row is not None:
            await row.delete()
            if kind == "block" and not other.local and row.uri:
                doc = build.activity("Block", row.uri, me.uri, other.uri)
                await enqueue(s, me, build.undo(me.uri, doc), [other.inbox], public=False, store=False)

    await atomic(work)
    s.wake_delivery()
    return json_response(await relationship(me, other))


@bp.post("/api/v1/accounts/<account_id>/block")
async def block(account_id: str) -> Response:
    return await _block(account_id, "block", True)


@bp.post("/api/v1/accounts/<account_id>/unblock")
async def unblock(account_id: str) -> Response:
    return await _block(account_id, "block", False)


@bp.post("/api/v1/accounts/<account_id>/mute")
async def mute(account_id: str) -> Response:
    return await _block(account_id, "mute", True)


@bp.post("/api/v1/accounts/<account_id>/unmute")
async def unmute(account_id: str) -> Response:
    return await _block(account_id, "mute", False)


async def _blocked_list(kind: str) -> Response:
    me = await require_account()
    rows = await page(Block.filter(kind=kind, account=me).select_related("target"), await params())
    return paged_response(await accounts_json(st(), [r.target for r in rows]), [r.id for r in rows])


@bp.get("/api/v1/blocks")
async def blocks() -> Response:
    return await _blocked_list("block")


@bp.get("/api/v1/mutes")
async def mutes() -> Response:
    return await _blocked_list("mute")


def _marker_json(m: Marker) -> dict[str, Any]:
    return {"last_read_id": m.last_read_id, "version": m.version, "updated_at": iso(m.updated_at)}


@bp.get("/api/v1/markers")
async def markers() -> Response:
    me = await require_account()
    args = await params()
    wanted = args.get("timeline") or ["home", "notifications"]
    wanted = wanted if isinstance(wanted, list) else [wanted]
    rows = await Marker.filter(account=me, timeline__in=wanted)
    return json_response({m.timeline: _marker_json(m) for m in rows})


@bp.post("/api/v1/markers")
async def save_markers() -> Response:
    me = await require_account()
    args = await params()
    out = {}
    for timeline in ("home", "notifications"):
        value = args.get(timeline) if isinstance(args.get(timeline), dict) else None
        last = (value or {}).get("last_read_id") or args.get(f"{timeline}[last_read_id]")
        if not last:
            continue
        if not str(last).isdigit():
            raise BadRequest("last_read_id must be an id")
        row, created = await Marker.get_or_create(account=me, timeline=timeline, defaults={"last_read_id": str(last)})
        if not created:
            row.last_read_id, row.version = str(last), row.version + 1
            await row.save()
        out[timeline] = _marker_json(row)
    return json_response(out)


@bp.get("/api/v1/trends")
@bp.get("/api/v1/trends/tags")
async def trending_tags() -> Response:
    args = await params()
    limit = int_param(args, "limit", 10, 1, 20)
    since = datetime.now(UTC) - timedelta(days=7)
    counts: Counter[str] = Counter()
    for tags in await Post.filter(published__gte=since, deleted_at=None, visibility="public").values_list(
            "tags", flat=True):
        for tag in tags or []:
            counts[str(tag.get("name", "")).lstrip("#").lower()] += 1
    counts.pop("", None)
    base = st().urls
    return json_response([{"name": name, "url": base.tag(name),
                           "history": [{"day": str(int(datetime.now(UTC).timestamp()) // 86400 * 86400),
                                        "uses": str(n), "accounts": str(n)}]}
                          for name, n in counts.most_common(limit)])


@bp.get("/api/v1/trends/statuses")
async def trending_statuses() -> Response:
    viewer = await optional_account()
    args = await params()
    limit = int_param(args, "limit", 20, 1, 40)
    since = datetime.now(UTC) - timedelta(days=7)
    posts = await Post.filter(published__gte=since, deleted_at=None, visibility="public", reblog_of=None,
                              favourites_count__gt=0).order_by("-favourites_count", "-id").limit(limit)
    return json_response(await statuses_json(st(), list(posts), viewer))
