"""Statuses: create, get, delete, context, favourite/reblog and their undos, pin/unpin."""

from __future__ import annotations

import json
import re
from typing import Any

from quart import Blueprint, Response, request

from fedi.api.auth import optional_account, require_account
from fedi.api.serializers import status_json, statuses_json, without_hidden
from fedi.errors import BadRequest, NotFound, Unprocessable
from fedi.generation import GenerationRequest
from fedi.generation_meta import Generation
from fedi.models import Account, Follow, Media, Post
from fedi.web.common import as_bool, json_response, params, st
from outbox.generate import generate_and_post
from outbox.interact import favourite, pin, reblog, unfavourite, unpin, unreblog
from outbox.publish import delete_post, edit_post, publish_post

bp = Blueprint("api_statuses", __name__)


async def visible_post(post_id: str, viewer: Account | None) -> Post:
    try:
        ident = int(post_id)
    except ValueError as exc:
        raise NotFound("Record not found") from exc
    post = await Post.get_or_none(id=ident, deleted_at=None)
    if post is None or not await can_see(post, viewer):
        raise NotFound("Record not found")
    return post


async def can_see(post: Post, viewer: Account | None) -> bool:
    if post.visibility in ("public", "unlisted"):
        return True
    if viewer is None:
        return False
    if post.account_id == viewer.id:
        return True
    if viewer.uri in post.to or viewer.uri in post.cc:
        return True
    return post.visibility == "private" and await Follow.exists(
        follower=viewer, target_id=post.account_id, accepted=True)


@bp.post("/api/v1/statuses")
async def create_status() -> Response:
    me = await require_account()
    args = await params()
    ids = args.get("media_ids", [])
    ids = ids if isinstance(ids, list) else [ids]
    media: list[Media] = []
    for ident in ids:
        try:
            item = await Media.get_or_none(id=int(ident), account=me)
        except (TypeError, ValueError):
            item = None
        if item is None:
            raise Unprocessable(f"media {ident} not found")
        if item.post_id is not None:
            raise Unprocessable(f"media {ident} is already attached to a post")
        media.append(item)
    parent = None
    if args.get("in_reply_to_id"):
        parent = await visible_post(str(args["in_reply_to_id"]), me)
    visibility = str(args.get("visibility") or "public")
    remix_of = await visible_post(str(args["remix_of_id"]), me) if args.get("remix_of_id") else None
    post = await publish_post(
        st(), me, caption=str(args.get("status") or ""), media=media, visibility=visibility,
        spoiler_text=str(args.get("spoiler_text") or ""),
        sensitive=as_bool(args.get("sensitive", False), "sensitive"), in_reply_to=parent,
        generation=await generation_from(args, me), remix_of=remix_of,
        remix_allowed=as_bool(args["remix_allowed"], "remix_allowed") if "remix_allowed" in args else None)
    return json_response(await status_json(st(), post, me))


@bp.post("/api/v1/fedi/generate")
async def generate_status() -> Response:
    """Generate an image from a prompt with the instance's backend and post it (fedi's own endpoint)."""
    me = await require_account()
    args = await params()
    request = GenerationRequest(
        prompt=str(args.get("prompt") or ""), negative_prompt=args.get("negative_prompt") or None,
        model=args.get("model") or None, seed=_opt_int(args, "seed"), width=_opt_int(args, "width") or 1024,
        height=_opt_int(args, "height") or 1024, steps=_opt_int(args, "steps"),
        guidance_scale=_opt_float(args, "guidance_scale"),
        sampler=args.get("sampler") or None)
    remix_of = await visible_post(str(args["remix_of_id"]), me) if args.get("remix_of_id") else None
    post = await generate_and_post(
        st(), me, request, caption=str(args.get("status") or ""), visibility=str(args.get("visibility") or "public"),
        prompt_private=as_bool(args.get("prompt_private", False), "prompt_private"), remix_of=remix_of,
        spoiler_text=str(args.get("spoiler_text") or ""),
        sensitive=as_bool(args.get("sensitive", False), "sensitive"))
    return json_response(await status_json(st(), post, me))


def _opt_int(args: dict[str, Any], name: str) -> int | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number") from exc


def _opt_float(args: dict[str, Any], name: str) -> float | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(str(raw))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number") from exc


GENERATION_KEYS = ("model", "model_version", "prompt", "negative_prompt", "seed", "steps", "sampler",
                   "guidance_scale", "parameters")


async def generation_from(args: dict[str, Any], me: Account) -> Generation:
    """Generation metadata from the request; reuse_prompt_of copies a post's public prompt and settings."""
    raw = {k: args.get(k) for k in GENERATION_KEYS}
    if isinstance(raw["parameters"], str):
        try:
            raw["parameters"] = json.loads(raw["parameters"])
        except ValueError as exc:
            raise BadRequest("parameters must be JSON: a list of {name, value} or an object") from exc
    if args.get("reuse_prompt_of"):
        source = await visible_post(str(args["reuse_prompt_of"]), me)
        if source.prompt_private and source.account_id != me.id:
            raise Unprocessable("the prompt of that post is private")
        for key, value in reuse(source).items():
            if raw.get(key) in (None, ""):
                raw[key] = value
    label = as_bool(args["ai_generated"], "ai_generated") if "ai_generated" in args else None
    return Generation.parse(raw, ai_label=label,
                            prompt_private=as_bool(args.get("prompt_private", False), "prompt_private"))


def reuse(post: Post) -> dict[str, Any]:
    return {"model": post.model_name, "model_version": post.model_version, "prompt": post.prompt,
            "negative_prompt": post.negative_prompt, "seed": post.seed, "steps": post.steps,
            "sampler": post.sampler, "guidance_scale": post.guidance_scale, "parameters": post.parameters}


@bp.get("/api/v1/statuses/<post_id>")
async def get_status(post_id: str) -> Response:
    viewer = await optional_account()
    post = await visible_post(post_id, viewer)
    return json_response((await statuses_json(st(), [post], viewer, "thread"))[0])


async def remove_post(me: Account, post: Post) -> None:
    """Delete one of `me`'s posts (a Delete goes to its audience); deleting a boost is undoing it.
    DELETE /api/v1/statuses/:id and the web page's delete button."""
    if post.reblog_of_id is not None:
        await unreblog(st(), me, await Post.get(id=post.reblog_of_id))
    else:
        await delete_post(st(), me, post)


@bp.delete("/api/v1/statuses/<post_id>")
async def delete_status(post_id: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    if post.account_id != me.id:
        raise NotFound("Record not found")
    doc = await status_json(st(), post, me)
    doc["text"] = post.text
    await remove_post(me, post)
    return json_response(doc)


async def media_descriptions(args: dict[str, Any]) -> dict[int, str]:
    """New alt texts from PUT's media_attributes: a JSON list (or object) of {id, description}, or the
    form fields media_attributes[][id] + media_attributes[][description] (also [0][id], ...)."""
    items = args.get("media_attributes")
    if isinstance(items, dict):
        items = list(items.values())
    pairs: list[tuple[Any, Any]] = []
    if isinstance(items, list):
        pairs = [(i.get("id"), i.get("description")) for i in items if isinstance(i, dict)]
    elif not request.is_json:
        form = await request.form
        rows: dict[str, dict[str, str]] = {}
        for key in form:
            match = re.fullmatch(r"media_attributes\[(\d*)\]\[(id|description)\]", key)
            if match:
                for n, value in enumerate(form.getlist(key)):
                    rows.setdefault(match[1] or str(n), {})[match[2]] = value
        pairs = [(r.get("id"), r.get("description")) for r in rows.values()]
    out: dict[int, str] = {}
    for ident, text in pairs:
        if text is not None and str(ident or "").isdigit():
            out[int(str(ident))] = str(text)
    return out


@bp.put("/api/v1/statuses/<post_id>")
async def edit_status(post_id: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    if post.account_id != me.id or post.reblog_of_id is not None:
        raise NotFound("Record not found")
    args = await params()
    post = await edit_post(st(), me, post, caption=str(args.get("status", post.text) or ""),
                           spoiler_text=str(args.get("spoiler_text", post.spoiler_text) or ""),
                           sensitive=as_bool(args.get("sensitive", post.sensitive), "sensitive"),
                           descriptions=await media_descriptions(args))
    return json_response(await status_json(st(), post, me))


@bp.get("/api/v1/statuses/<post_id>/context")
async def context(post_id: str) -> Response:
    viewer = await optional_account()
    post = await visible_post(post_id, viewer)
    ancestors: list[Post] = []
    cursor = post
    while cursor.in_reply_to_id and len(ancestors) < 40:
        parent = await Post.get_or_none(id=cursor.in_reply_to_id, deleted_at=None)
        if parent is None or not await can_see(parent, viewer):
            break
        ancestors.insert(0, parent)
        cursor = parent
    descendants: list[Post] = []
    frontier = [post.id]
    while frontier and len(descendants) < 60:
        children = await Post.filter(in_reply_to_id__in=frontier, deleted_at=None).order_by("id")
        children = [c for c in children if await can_see(c, viewer)]
        descendants.extend(children)
        frontier = [c.id for c in children]
    docs = await statuses_json(st(), ancestors + descendants, viewer, "thread")
    return json_response({"ancestors": without_hidden(docs[:len(ancestors)]),
                          "descendants": without_hidden(docs[len(ancestors):])})


async def _act(post_id: str, action: str) -> Response:
    me = await require_account()
    post = await visible_post(post_id, me)
    if post.reblog_of_id is not None:
        post = await Post.get(id=post.reblog_of_id)
    s = st()
    if action == "favourite":
        post = await favourite(s, me, post)
    elif action == "unfavourite":
        post = await unfavourite(s, me, post)
    elif action == "reblog":
        boost = await reblog(s, me, post)
        return json_response(await status_json(s, boost, me))
    else:
        post = await unreblog(s, me, post)
    return json_response(await status_json(s, post, me))


@bp.post("/api/v1/statuses/<post_id>/favourite")
async def fav(post_id: str) -> Response:
    return await _act(post_id, "favourite")


@bp.post("/api/v1/statuses/<post_id>/unfavourite")
async def unfav(post_id: str) -> Response:
    return await _act(post_id, "unfavourite")


@bp.post("/api/v1/statuses/<post_id>/reblog")
async def boost(post_id: str) -> Response:
    return await _act(post_id, "reblog")


@bp.post("/api/v1/statuses/<post_id>/unreblog")
async def unboost(post_id: str) -> Response:
    return await _act(post_id, "unreblog")



@bp.post("/api/v1/statuses/<post_id>/pin")
async def pin_status(post_id: str) -> Response:
    """Feature one's own public or unlisted post on one's profile (422 with Mastodon's messages otherwise)."""
    me = await require_account()
    post = await pin(st(), me, await visible_post(post_id, me))
    return json_response(await status_json(st(), post, me))


@bp.post("/api/v1/statuses/<post_id>/unpin")
async def unpin_status(post_id: str) -> Response:
    me = await require_account()
    post = await unpin(st(), me, await visible_post(post_id, me))
    return json_response(await status_json(st(), post, me))
