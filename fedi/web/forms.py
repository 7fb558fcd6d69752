"""The web forms: sign in and out, follow by handle, settings, and the buttons under a post (like, boost,
bookmark, reply, pin) and on follow requests. Every POST carries the session's CSRF token (checked in
session.protect)."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, flash, redirect, request

from fedi.accounts import authenticate, check_password, hash_password, password_problem
from fedi.actors import resolve_handle
from fedi.api.statuses import visible_post
from fedi.db import atomic
from fedi.errors import BadRequest, FediError, NotFound, Unauthorized, Unprocessable
from fedi.models import Account, Bookmark, Follow, Post
from fedi.text import render as render_text
from fedi.text import strip_html
from fedi.uploads import store_upload
from fedi.web.clientip import client_ip
from fedi.web.common import st
from fedi.web.filtering import filter_section
from fedi.web.pages import post_href, profile_href
from fedi.web.session import (
    current_user,
    login_redirect,
    login_throttle,
    protect,
    render,
    safe_next,
    sign_in,
    sign_out,
)
from outbox.interact import answer_follow, favourite, follow, pin, reblog, unfavourite, unfollow, unpin, unreblog
from outbox.publish import publish_post, publish_profile

bp = Blueprint("forms", __name__)
protect(bp)


def go(path: str) -> Response:
    return redirect(path)  # type: ignore[return-value]


async def require_user() -> Account:
    me = await current_user()
    if me is None:
        raise Unauthorized("Sign in first.")
    return me


async def form_text(name: str, limit: int = 5000) -> str:
    return str((await request.form).get(name, "")).strip()[:limit]


# -- signing in and out ----------------------------------------------------------------------------------

@bp.get("/login")
async def login_form() -> Response:
    nxt = safe_next(request.args.get("next"))
    if await current_user() is not None:
        return go(nxt)
    return await render("login.html", next=nxt, username="", error=None)


@bp.post("/login")
async def login() -> Response:
    form = await request.form
    username = str(form.get("username", "")).strip().lstrip("@").lower()[:100]
    user, _, host = username.partition("@")
    if host.lower() == st().cfg.domain:
        username = user
    password = str(form.get("password", ""))[:1000]
    nxt = safe_next(form.get("next"))
    ip = client_ip(request)
    throttle = login_throttle()
    wait = throttle.retry_after(username, ip)
    if wait:
        minutes = max(1, round(wait / 60))
        return await render("login.html", 429, {"Retry-After": str(wait)}, next=nxt, username=username,
                            error=f"Too many failed sign-ins. Try again in {minutes} minute(s).")
    account = await authenticate(username, password)
    if account is None:
        throttle.failed(username, ip)
        return await render("login.html", 401, next=nxt, username=username, error="Wrong username or password.")
    throttle.succeeded(username, ip)
    sign_in(account)
    return go(nxt)


@bp.post("/logout")
async def logout() -> Response:
    sign_out()
    await flash("You are signed out.")
    return go("/")


# -- following -------------------------------------------------------------------------------------------

@bp.get("/follow")
async def follow_form() -> Response:
    if await current_user() is None:
        return login_redirect()
    return await render("follow.html", handle=request.args.get("handle", "")[:300], error=None)


@bp.post("/follow")
async def follow_submit() -> Response:
    me = await require_user()
    handle = await form_text("handle", 300)
    try:
        if not handle:
            raise BadRequest("Enter a handle such as name@example.social.")
        if "@" not in handle.lstrip("@"):
            handle = f"{handle.lstrip('@')}@{st().cfg.domain}"
        target = await resolve_handle(st(), handle)
        if target.id == me.id:
            raise BadRequest("That is you.")
        row = await follow(st(), me, target)
    except FediError as exc:
        return await render("follow.html", exc.status, handle=handle, error=exc.message)
    name = f"@{target.acct()}"
    await flash(f"You follow {name}." if row.accepted else f"Follow request sent to {name}.")
    return go(profile_href(target))


@bp.post("/unfollow")
async def unfollow_submit() -> Response:
    me = await require_user()
    raw = await form_text("account_id", 30)
    target = await Account.get_or_none(id=int(raw)) if raw.isdigit() else None
    if target is None:
        raise NotFound("There is no such account.")
    await unfollow(st(), me, target)
    await flash(f"You no longer follow @{target.acct()}.")
    return go(profile_href(target))


@bp.post("/follow_requests/<int:account_id>/<decision>")
async def answer_request(account_id: int, decision: str) -> Response:
    me = await require_user()
    if decision not in ("authorize", "reject"):
        raise NotFound("No such action.")
    row = await Follow.get_or_none(follower_id=account_id, target=me, accepted=False)
    if row is None:
        raise NotFound("There is no such follow request.")

    async def work() -> None:
        await answer_follow(st(), me, row, accept=decision == "authorize")

    await atomic(work)
    st().wake_delivery()
    await flash("Follow request accepted." if decision == "authorize" else "Follow request rejected.")
    return go("/notifications")


# -- buttons under a post --------------------------------------------------------------------------------

@bp.post("/posts/<int:post_id>/<action>")
async def interact(post_id: int, action: str) -> Response:
    me = await require_user()
    if action not in ("favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark", "reply", "pin",
                      "unpin"):
        raise NotFound("No such action.")
    post = await visible_post(str(post_id), me)
    if post.reblog_of_id is not None:
        post = await Post.get(id=post.reblog_of_id)
    s = st()
    if action in ("pin", "unpin"):    # one's own post on one's profile; an Add/Remove goes to the followers
        try:
            await (pin if action == "pin" else unpin)(s, me, post)
            await flash("Pinned to your profile." if action == "pin" else "Unpinned from your profile.")
        except Unprocessable as exc:
            await flash(exc.message.removeprefix("Validation failed: ") + ".")
    elif action == "favourite":
        await favourite(s, me, post)
    elif action == "unfavourite":
        await unfavourite(s, me, post)
    elif action == "reblog":
        await reblog(s, me, post)
    elif action == "unreblog":
        await unreblog(s, me, post)
    elif action == "bookmark":       # private to the person: nothing is sent (as Mastodon)
        await Bookmark.get_or_create(account=me, post=post)
        await flash("Bookmarked: find it under Bookmarks.")
    elif action == "unbookmark":
        await Bookmark.filter(account=me, post=post).delete()
        await flash("Bookmark removed.")
    else:
        text = await form_text("status")
        if not text:
            raise BadRequest("Write something to reply.")
        await publish_post(s, me, caption=text, in_reply_to=post, visibility=post.visibility)
        await flash("Your reply is posted.")
    author = await post.account
    return go(safe_next((await request.form).get("next"), post_href(post, author)))


# -- settings --------------------------------------------------------------------------------------------

def settings_values(me: Account) -> dict[str, Any]:
    return {"display_name": me.display_name, "bio": strip_html(me.summary.replace("</p><p>", "\n\n")
                                                                .replace("<br>", "\n")),
            "locked": me.manually_approves_followers, "ai_filter": me.ai_filter, "remix_default": me.remix_default}


async def settings_page(me: Account, status: int = 200, error: str | None = None, **filters: Any) -> Response:
    """The settings page; `filters` are filtering.filter_section's (the new-filter form sent, its error)."""
    return await render("settings.html", status, values=settings_values(me), error=error,
                        **await filter_section(me, **filters))


@bp.get("/settings")
async def settings_form() -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    return await settings_page(me)


@bp.post("/settings")
async def settings_submit() -> Response:
    me = await require_user()
    form = await request.form
    ai = str(form.get("ai_filter", me.ai_filter))
    if ai not in ("show", "blur", "hide"):
        return await settings_page(me, 400, "Choose show, blur or hide for AI-labelled posts.")
    me.display_name = str(form.get("display_name", "")).strip()[:30] or me.username
    me.summary = render_text(str(form.get("bio", "")).strip()[:500], st().urls.tag, {}, st().cfg.domain).html
    me.manually_approves_followers = form.get("locked") == "on"
    me.remix_default = form.get("remix_default") == "on"
    me.ai_filter = ai
    avatar = (await request.files).get("avatar")
    if avatar is not None and avatar.filename:
        try:
            media = await store_upload(st(), me, avatar.read(), f"Avatar of {me.display_name}")
        except FediError as exc:
            return await settings_page(me, exc.status, f"The avatar could not be used: {exc.message}")
        me.avatar_url = st().urls.media(media.file_name or "")
    await me.save()
    st().forget_local(me.username)
    await publish_profile(st(), me)
    await flash("Your settings are saved.")
    return go("/settings")


@bp.post("/settings/password")
async def password_submit() -> Response:
    me = await require_user()
    form = await request.form
    current, new = str(form.get("current_password", ""))[:1000], str(form.get("new_password", ""))[:1000]
    ip = client_ip(request)
    throttle = login_throttle()
    error, status = None, 400
    if throttle.retry_after(me.username, ip):
        error, status = "Too many wrong passwords. Try again later.", 429
    elif not await asyncio.to_thread(check_password, current, me.password_hash):
        throttle.failed(me.username, ip)
        error = "The current password is wrong."
    elif (problem := password_problem(new)) is not None:
        error = f"The new password {problem[1]}."
    elif new != str(form.get("confirm_password", "")):
        error = "The new passwords differ."
    if error:
        return await settings_page(me, status, error)
    me.password_hash = await asyncio.to_thread(hash_password, new)
    await me.save(update_fields=["password_hash"])
    sign_in(me)             # a new session; every other one ends with the old password
    await flash("Your password is changed.")
    return go("/settings")
