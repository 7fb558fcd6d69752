"""Accounts: verify_credentials, lookup, get, followers/following, follow/unfollow, relationships."""

from __future__ import annotations

from typing import Any, cast

from quart import Blueprint, Response, request
from tortoise.queryset import QuerySet

from fedi.api.auth import optional_account, require_account
from fedi.api.paging import page, paged_response
from fedi.api.serializers import accounts_json, one_account, statuses_json, without_hidden
from fedi.db import atomic
from fedi.errors import BadRequest, NotFound
from fedi.models import Account, Block, Follow, Post
from fedi.text import render
from fedi.uploads import store_upload
from fedi.web.common import as_bool, int_param, json_response, params, st
from outbox.interact import answer_follow, follow, unfollow
from outbox.publish import publish_profile

bp = Blueprint("api_accounts", __name__)


async def account_or_404(account_id: str) -> Account:
    try:
        ident = int(account_id)
    except ValueError as exc:
        raise NotFound("Record not found") from exc
    account = await Account.get_or_none(id=ident, suspended=False)
    if account is None or account.actor_type == "Application" and account.domain is None:
        raise NotFound("Record not found")
    return account


@bp.get("/api/v1/accounts/verify_credentials")
async def verify_credentials() -> Response:
    me = await require_account()
    return json_response(await one_account(st(), me, source=True))


@bp.get("/api/v1/accounts/lookup")
async def lookup() -> Response:
    args = await params()
    acct = str(args.get("acct", "")).lstrip("@")
    user, _, domain = acct.partition("@")
    if domain.lower() == st().cfg.domain:
        domain = ""
    account = await Account.get_or_none(username=user, domain=domain.lower() or None, suspended=False)
    if account is None:
        raise NotFound("Record not found")
    return json_response(await one_account(st(), account))


async def relationship(me: Account, other: Account) -> dict[str, Any]:
    out = await Follow.get_or_none(follower=me, target=other)
    back = await Follow.get_or_none(follower=other, target=me)
    kinds = set(cast(list[str], await Block.filter(account=me, target=other).values_list("kind", flat=True)))
    blocked_by = await Block.exists(kind="block", account=other, target=me)
    return {"id": str(other.id), "following": bool(out and out.accepted), "showing_reblogs": True,
            "notifying": False, "languages": None, "followed_by": bool(back and back.accepted),
            "blocking": "block" in kinds, "blocked_by": blocked_by, "muting": "mute" in kinds,
            "muting_notifications": "mute" in kinds,
            "requested": bool(out and not out.accepted), "requested_by": bool(back and not back.accepted),
            "domain_blocking": False, "endorsed": False, "note": ""}


@bp.get("/api/v1/accounts/relationships")
async def relationships() -> Response:
    me = await require_account()
    args = await params()
    ids = args.get("id", [])
    ids = ids if isinstance(ids, list) else [ids]
    out = []
    for ident in ids:
        try:
            out.append(await relationship(me, await account_or_404(str(ident))))
        except NotFound:
            continue
    return json_response(out)


@bp.get("/api/v1/accounts/<account_id>")
async def get_account(account_id: str) -> Response:
    return json_response(await one_account(st(), await account_or_404(account_id)))


@bp.get("/api/v1/accounts/<account_id>/statuses")
async def account_statuses(account_id: str) -> Response:
    viewer = await optional_account()
    account = await account_or_404(account_id)
    args = await params()
    visible = ["public", "unlisted"]
    if viewer is not None and (viewer.id == account.id or await Follow.exists(
            follower=viewer, target=account, accepted=True)):
        visible.append("private")
    query = Post.filter(account=account, deleted_at=None, visibility__in=visible)
    if str(args.get("exclude_reblogs", "")).lower() in ("1", "true"):
        query = query.filter(reblog_of=None)
    if str(args.get("only_media", "")).lower() in ("1", "true"):
        query = query.filter(media__id__not_isnull=True).distinct()
    if str(args.get("pinned", "")).lower() in ("1", "true"):
        return await _pinned(query.filter(pinned_at__not_isnull=True, reblog_of=None), args, viewer)
    posts = await page(query, args)
    return paged_response(without_hidden(await statuses_json(st(), posts, viewer, "account")), [p.id for p in posts])


async def _pinned(query: QuerySet[Post], args: dict[str, Any], viewer: Account | None) -> Response:
    """An account's pinned posts, newest pin first, in one page (a local account has at most 5): no Link
    header; max_id/since_id/min_id still bound the ids, so a client that pages anyway gets no repeats."""
    for name, op in (("max_id", "lt"), ("since_id", "gt"), ("min_id", "gt")):
        if args.get(name) not in (None, ""):
            try:
                query = query.filter(**{f"id__{op}": int(args[name])})
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"{name} must be an id") from exc
    posts = await query.order_by("-pinned_at", "-id").limit(int_param(args, "limit", 20, 1, 40))
    return json_response(without_hidden(await statuses_json(st(), list(posts), viewer, "account")))


async def _follow_list(account_id: str, *, followers: bool) -> Response:
    account = await account_or_404(account_id)
    args = await params()
    query = Follow.filter(accepted=True, **({"target": account} if followers else {"follower": account}))
    rows = await page(query.select_related("follower" if followers else "target"), args)
    people = [r.follower if followers else r.target for r in rows]
    return paged_response(await accounts_json(st(), people), [r.id for r in rows])


@bp.get("/api/v1/accounts/<account_id>/followers")
async def followers(account_id: str) -> Response:
    return await _follow_list(account_id, followers=True)


@bp.get("/api/v1/accounts/<account_id>/following")
async def following(account_id: str) -> Response:
    return await _follow_list(account_id, followers=False)


@bp.post("/api/v1/accounts/<account_id>/follow")
async def follow_account(account_id: str) -> Response:
    me = await require_account()
    target = await account_or_404(account_id)
    await follow(st(), me, target)
    return json_response(await relationship(me, target))


@bp.post("/api/v1/accounts/<account_id>/unfollow")
async def unfollow_account(account_id: str) -> Response:
    me = await require_account()
    target = await account_or_404(account_id)
    await unfollow(st(), me, target)
    return json_response(await relationship(me, target))


@bp.patch("/api/v1/accounts/update_credentials")
async def update_credentials() -> Response:
    me = await require_account()
    args = await params()
    if "display_name" in args:
        me.display_name = str(args["display_name"] or "")[:30] or me.username
    if "note" in args:
        me.summary = render(str(args["note"] or "")[:500], st().urls.tag, {}, st().cfg.domain).html
    if "locked" in args:
        me.manually_approves_followers = as_bool(args["locked"], "locked")
    if "discoverable" in args:
        me.discoverable = as_bool(args["discoverable"], "discoverable")
    if "fedi_ai_filter" in args:
        if args["fedi_ai_filter"] not in ("show", "blur", "hide"):
            raise BadRequest("fedi_ai_filter must be show, blur or hide")
        me.ai_filter = str(args["fedi_ai_filter"])
    if "fedi_remix_default" in args:
        me.remix_default = as_bool(args["fedi_remix_default"], "fedi_remix_default")
    files = await request.files
    for field, attr in (("avatar", "avatar_url"), ("header", "header_url")):
        if field in files:
            media = await store_upload(st(), me, files[field].read())
            setattr(me, attr, st().urls.media(media.file_name or ""))
    await me.save()
    st().forget_local(me.username)
    await publish_profile(st(), me)
    return json_response(await one_account(st(), me, source=True))


@bp.get("/api/v1/follow_requests")
async def follow_requests() -> Response:
    me = await require_account()
    args = await params()
    rows = await page(Follow.filter(target=me, accepted=False).select_related("follower"), args)
    return paged_response(await accounts_json(st(), [r.follower for r in rows]), [r.id for r in rows])


async def _answer(account_id: str, accept: bool) -> Response:
    me = await require_account()
    other = await account_or_404(account_id)
    row = await Follow.get_or_none(follower=other, target=me, accepted=False)
    if row is None:
        raise NotFound("Follow request not found")

    async def work() -> None:
        await answer_follow(st(), me, row, accept=accept)

    await atomic(work)
    st().wake_delivery()
    return json_response(await relationship(me, other))


@bp.post("/api/v1/follow_requests/<account_id>/authorize")
async def authorize(account_id: str) -> Response:
    return await _answer(account_id, True)


@bp.post("/api/v1/follow_requests/<account_id>/reject")
async def reject(account_id: str) -> Response:
    return await _answer(account_id, False)
