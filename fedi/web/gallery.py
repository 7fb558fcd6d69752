"""The pages people browse: the instance's gallery, profiles, posts, hashtags, the home feed, bookmarks
and notifications (GET only; the forms are in forms.py)."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from quart import Blueprint, Response, redirect, request
from tortoise.expressions import Q, Subquery

from fedi.api.statuses import can_see
from fedi.api.timelines import ai_filter
from fedi.errors import Gone, NotFound
from fedi.models import Account, Bookmark, Follow, Media, Notification, Post
from fedi.web.common import st, wants_activitypub
from fedi.web.filtering import page_filters, verdict
from fedi.web.pages import (
    PAGE_SIZE,
    avatar_src,
    build_cards,
    image_view,
    media_by_post,
    next_page,
    post_href,
    post_page,
    profile_href,
    profile_page,
    when,
)
from fedi.web.session import current_user, html_errors, login_redirect, render

bp = Blueprint("gallery", __name__)
html_errors(bp)

NOTIFICATION_TEXT = {"favourite": "liked your post", "reblog": "boosted your post", "follow": "followed you",
                     "follow_request": "asked to follow you", "mention": "mentioned you",
                     "remix": "remixed your post", "status": "posted", "update": "edited a post"}


def max_id() -> int | None:
    raw = request.args.get("max_id", "")
    return int(raw) if raw.isdigit() else None


def older(query: Any) -> Any:
    cursor = max_id()
    return query.filter(id__lt=cursor) if cursor is not None else query


async def find_account(name: str) -> Account:
    """A profile by its handle: name (local) or name@host (known remote account)."""
    user, _, host = name.lstrip("@").partition("@")
    host = host.lower()
    if not host or host == st().cfg.domain:
        account = await Account.get_or_none(username=user, domain=None, actor_type="Person")
    else:
        account = await Account.get_or_none(username=user, domain=host)
    if account is None or account.suspended:
        raise NotFound(f"There is no account {name} here.")
    if account.gone:
        raise Gone(f"The account {name} was deleted.")
    return account


@bp.get("/")
async def gallery() -> Response:
    viewer = await current_user()
    with_media = Subquery(Media.filter(post_id__not_isnull=True).values("post_id"))
    query = Post.filter(local=True, deleted_at=None, reblog_of=None, visibility="public", id__in=with_media)
    posts = list(await older(query).order_by("-id").limit(PAGE_SIZE))
    cards = await build_cards(posts, viewer, await page_filters(viewer, "public"))
    return await render("gallery.html", cards=cards, next_url=next_page(posts, "/"), heading=st().cfg.instance_title)


@bp.get("/@<name>")
async def profile(name: str) -> Response:
    account = await find_account(name)
    if account.local and wants_activitypub():
        return redirect(account.uri)  # type: ignore[return-value]
    return await profile_page(account, max_id())


@bp.get("/@<name>/<int:post_id>")
async def post(name: str, post_id: int) -> Response:
    account = await find_account(name)
    found = await Post.get_or_none(id=post_id, account=account).select_related("account")
    if found is None:
        raise NotFound("There is no such post.")
    if found.deleted_at is not None:
        raise Gone("This post was deleted.")
    if not await can_see(found, await current_user()):
        raise NotFound("There is no such post.")
    if found.reblog_of_id is not None:
        original = await Post.get(id=found.reblog_of_id).select_related("account")
        return redirect(post_href(original, original.account))  # type: ignore[return-value]
    if found.local and wants_activitypub():
        return redirect(found.uri)  # type: ignore[return-value]
    return await post_page(found)


@bp.get("/tags/<tag>")
async def tag_page(tag: str) -> Response:
    name = tag.lstrip("#").lower()
    viewer = await current_user()
    query = ai_filter(Post.filter(deleted_at=None, reblog_of=None, visibility="public"), viewer)
    batch = list(await older(query).order_by("-id").limit(400))
    posts = [p for p in batch if any(str(t.get("name", "")).lstrip("#").lower() == name for t in p.tags)]
    posts = posts[:PAGE_SIZE]
    path = f"/tags/{quote(name)}"
    next_url = next_page(posts, path) or (f"{path}?max_id={batch[-1].id}" if len(batch) == 400 else None)
    return await render("gallery.html", cards=await build_cards(posts, viewer, await page_filters(viewer, "public")),
                        next_url=next_url, heading=f"#{name}", tag=name)


@bp.get("/home")
async def home() -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    followed = list(cast(list[int], await Follow.filter(follower=me, accepted=True)
                         .values_list("target_id", flat=True)))
    query = Post.filter(deleted_at=None).filter(
        Q(account_id=me.id) | Q(account_id__in=followed or [0], visibility__in=["public", "unlisted", "private"]))
    posts = list(await older(ai_filter(query, me)).order_by("-id").limit(PAGE_SIZE))
    return await render("home.html", cards=await build_cards(posts, me, await page_filters(me, "home")),
                        next_url=next_page(posts, "/home"), following=len(followed))


@bp.get("/bookmarks")
async def bookmarks() -> Response:
    """The signed-in person's bookmarks, newest bookmark first (only they see them)."""
    me = await current_user()
    if me is None:
        return login_redirect()
    rows = list(await older(Bookmark.filter(account=me, post__deleted_at=None)).order_by("-id").limit(PAGE_SIZE)
                .select_related("post"))
    posts = [r.post for r in rows if await can_see(r.post, me)]
    return await render("gallery.html", cards=await build_cards(posts, me), heading="Bookmarks",
                        next_url=f"/bookmarks?max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None,
                        lead="Posts you bookmarked, newest bookmark first. Only you can see this list.",
                        empty="No bookmarks yet: use the Bookmark button under a post.")


@bp.get("/notifications")
async def notifications() -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    rows = list(await older(Notification.filter(account=me)).order_by("-id").limit(40)
                .select_related("from_account", "post"))
    posts = {n.post_id: n.post for n in rows if n.post is not None}
    media = await media_by_post(list(posts))
    filters = await page_filters(me, "notifications")
    items = []
    for n in rows:
        who = n.from_account
        target = posts.get(n.post_id) if n.post_id else None
        first = media.get(n.post_id or 0, [])
        found = verdict(filters, me, target, [m.description or "" for m in first]) if target is not None else None
        if found is not None and found.hide:
            continue
        items.append({"type": n.type, "who": who, "who_href": profile_href(who), "avatar": avatar_src(who),
                      "text": NOTIFICATION_TEXT.get(n.type, n.type), "when": when(n.created_at),
                      "post_href": post_href(target, me if target.account_id == me.id else await target.account)
                      if target is not None else None,
                      "thumb": image_view(first[0], me) if first else None,
                      "filtered": found.warn if found else [], "filter_blur": found.blur if found else []})
    requests = await Follow.filter(target=me, accepted=False).order_by("-id").select_related("follower")
    return await render("notifications.html", items=items, requests=[
        {"who": r.follower, "href": profile_href(r.follower), "avatar": avatar_src(r.follower)} for r in requests],
        next_url=f"/notifications?max_id={rows[-1].id}" if len(rows) == 40 else None)
