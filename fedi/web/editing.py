"""Changing one's own posts on the web: edit the caption, content warning and alt texts (the same
outbox.publish.edit_post as PUT /api/v1/statuses/:id, so an Update goes out and the earlier version is
kept for the edit history), and delete after a confirmation page (the API's remove_post: a Delete goes
out). Both work without JavaScript; every POST carries the CSRF token (session.protect)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, flash, redirect, request

from fedi.api.statuses import remove_post, visible_post
from fedi.errors import BadRequest, FediError, Forbidden, NotFound, Unauthorized
from fedi.models import Account, Media, Post
from fedi.web.common import st
from fedi.web.pages import build_cards, image_view, post_href, profile_href
from fedi.web.session import current_user, login_redirect, protect, render
from outbox.publish import edit_post

bp = Blueprint("editing", __name__)
protect(bp)


async def own_post(post_id: int, me: Account) -> Post:
    """The signed-in person's post: 404 when it is not there (or not visible), 403 when someone else's."""
    post = await visible_post(str(post_id), me)
    if post.account_id != me.id:
        raise Forbidden("You can only change your own posts.")
    if post.reblog_of_id is not None:
        raise NotFound("There is no such post.")
    return post


async def edit_page(me: Account, post: Post, values: dict[str, Any], status: int = 200,
                    error: str | None = None) -> Response:
    media = await Media.filter(post_id=post.id).order_by("position", "id")
    images = [{**image_view(m, me), "id": m.id, "text": values["alt"].get(m.id, m.description or ""),
               "required": bool(m.description)} for m in media]
    return await render("post_edit.html", status, post=post, values=values, images=images, error=error,
                        href=post_href(post, me))


@bp.get("/posts/<int:post_id>/edit")
async def edit_form(post_id: int) -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    post = await own_post(post_id, me)
    return await edit_page(me, post, {"caption": post.text, "spoiler_text": post.spoiler_text, "alt": {}})


@bp.post("/posts/<int:post_id>/edit")
async def edit_submit(post_id: int) -> Response:
    me = await current_user()
    if me is None:
        raise Unauthorized("Sign in first.")
    post = await own_post(post_id, me)
    form = await request.form
    media = await Media.filter(post_id=post.id).order_by("position", "id")
    values: dict[str, Any] = {
        "caption": str(form.get("caption", "")).strip()[:5000],
        "spoiler_text": str(form.get("spoiler_text", "")).strip()[:500],
        "alt": {m.id: str(form.get(f"alt{m.id}", m.description or "")).strip()[:1500] for m in media}}
    try:
        for n, m in enumerate(media, 1):     # an alt text may be improved, not removed
            if m.description and not values["alt"][m.id]:
                raise BadRequest(f"Image {n} needs alt text: describe it for people who cannot see it.")
        changed = {m.id: text for m in media if (text := values["alt"][m.id]) != (m.description or "")}
        if values["caption"] == post.text and values["spoiler_text"] == post.spoiler_text and not changed:
            await flash("Nothing changed.")
            return redirect(post_href(post, me))  # type: ignore[return-value]
        sensitive = bool(values["spoiler_text"]) or (post.sensitive and not post.spoiler_text)
        post = await edit_post(st(), me, post, caption=values["caption"], spoiler_text=values["spoiler_text"],
                               sensitive=sensitive, descriptions=changed)
    except FediError as exc:
        return await edit_page(me, post, values, exc.status, exc.message)
    await flash("Your post is updated.")
    return redirect(post_href(post, me))  # type: ignore[return-value]


@bp.get("/posts/<int:post_id>/delete")
async def delete_form(post_id: int) -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    post = await own_post(post_id, me)
    return await render("post_delete.html", post=post, card=(await build_cards([post], me))[0],
                        href=post_href(post, me))


@bp.post("/posts/<int:post_id>/delete")
async def delete_submit(post_id: int) -> Response:
    me = await current_user()
    if me is None:
        raise Unauthorized("Sign in first.")
    post = await own_post(post_id, me)
    await remove_post(me, post)
    await flash("Your post is deleted.")
    return redirect(profile_href(me))  # type: ignore[return-value]
