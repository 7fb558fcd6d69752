"""Timelines: home (followed accounts and self) and public (local and/or remote)."""

from __future__ import annotations

from typing import Any, cast

from quart import Blueprint, Response
from tortoise.expressions import Q, Subquery

from fedi.api.auth import optional_account, require_account
from fedi.api.paging import page, paged_response
from fedi.api.serializers import statuses_json, without_hidden
from fedi.models import Account, Block, Follow, Post
from fedi.web.common import as_bool, params, st

bp = Blueprint("api_timelines", __name__)


def ai_filter(query: Any, viewer: Account | None) -> Any:
    """Readers may hide AI-labelled posts from other servers (their own server's are always shown);
    accounts they block or mute are left out too."""
    if viewer is None:
        return query
    if viewer.ai_filter == "hide":
        query = query.exclude(Q(ai_generated=True) & Q(local=False))
    return query.exclude(account_id__in=Subquery(Block.filter(account_id=viewer.id).values("target_id")))


@bp.get("/api/v1/timelines/home")
async def home() -> Response:
    me = await require_account()
    args = await params()
    followed = list(cast(list[int], await Follow.filter(follower=me, accepted=True)
                         .values_list("target_id", flat=True)))
    query = Post.filter(deleted_at=None).filter(
        Q(account_id=me.id) | Q(account_id__in=followed or [0], visibility__in=["public", "unlisted", "private"]))
    posts = await page(ai_filter(query, me), args)
    return paged_response(without_hidden(await statuses_json(st(), posts, me, "home")), [p.id for p in posts])


@bp.get("/api/v1/timelines/public")
async def public() -> Response:
    viewer = await optional_account()
    args = await params()
    query = Post.filter(deleted_at=None, visibility="public", reblog_of=None)
    if as_bool(args.get("local", False), "local"):
        query = query.filter(local=True)
    elif as_bool(args.get("remote", False), "remote"):
        query = query.filter(local=False)
    if as_bool(args.get("only_media", False), "only_media"):
        query = query.filter(media__id__not_isnull=True).distinct()
    posts = await page(ai_filter(query, viewer), args)
    return paged_response(without_hidden(await statuses_json(st(), posts, viewer, "public")), [p.id for p in posts])


@bp.get("/api/v1/timelines/tag/<tag>")
async def tag(tag: str) -> Response:
    viewer = await optional_account()
    args = await params()
    candidates = Post.filter(deleted_at=None, visibility="public", reblog_of=None)
    posts = [p for p in await page(candidates, {**args, "limit": 200}, maximum=200)
             if any(t.get("name", "").lstrip("#").lower() == tag.lower() for t in p.tags)]
    posts = posts[: int(args.get("limit") or 20)]
    return paged_response(without_hidden(await statuses_json(st(), posts, viewer, "public")), [p.id for p in posts])
