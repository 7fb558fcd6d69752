"""The compose page: post up to four uploaded images (each with its alt text), or generate one from a
prompt with the instance's generator; "reuse prompt" and "remix" open it prefilled."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, flash, redirect, request

from fedi.api.statuses import generation_from, reuse, visible_post
from fedi.errors import BadRequest, FediError, Unauthorized, Unprocessable
from fedi.generation import GenerationRequest
from fedi.models import VISIBILITIES, Account, Post
from fedi.uploads import store_upload
from fedi.web.common import st
from fedi.web.pages import build_cards, post_href
from fedi.web.session import current_user, login_redirect, protect, render
from outbox.generate import generate_and_post
from outbox.publish import publish_post

bp = Blueprint("compose", __name__)
protect(bp)

MAX_IMAGES = 4
SIZES = {"square": (1024, 1024), "landscape": (1024, 768), "portrait": (768, 1024), "small": (512, 512)}
TEXT_FIELDS = ("caption", "spoiler_text", "license", "model", "prompt", "negative_prompt", "seed")


def defaults(me: Account) -> dict[str, Any]:
    return {"caption": "", "spoiler_text": "", "visibility": "public", "license": "", "model": "", "prompt": "",
            "negative_prompt": "", "seed": "", "prompt_private": False, "ai_generated": True,
            "remix_allowed": me.remix_default, "remix_of": "", "reuse_prompt_of": "", "size": "square"}


def prefill(values: dict[str, Any], source: Post) -> None:
    for key, value in reuse(source).items():
        if key in values and value not in (None, ""):
            values[key] = str(value)


async def source_post(me: Account, ident: str, *, remix: bool) -> tuple[Post | None, str | None]:
    """The post to remix or whose prompt to reuse, or an error message."""
    try:
        post = await visible_post(ident, me)
    except FediError:
        return None, "That post is not available."
    if remix and not post.remix_allowed:
        return None, "The author does not allow remixes of that post."
    if not remix and post.prompt_private and post.account_id != me.id:
        return None, "The prompt of that post is private."
    return post, None


async def page(me: Account, values: dict[str, Any], status: int = 200, error: str | None = None) -> Response:
    sources = {}
    for key, remix in (("remix_of", True), ("reuse_prompt_of", False)):
        if values.get(key):
            post, _ = await source_post(me, str(values[key]), remix=remix)
            if post is not None:
                sources[key] = (await build_cards([post], me))[0]
    return await render("compose.html", status, values=values, error=error, sources=sources,
                        visibilities=VISIBILITIES, sizes=SIZES, generator=st().cfg.generator, slots=MAX_IMAGES)


@bp.get("/compose")
async def compose_form() -> Response:
    me = await current_user()
    if me is None:
        return login_redirect()
    values = defaults(me)
    error = None
    for key, remix in (("remix_of", True), ("reuse_prompt_of", False)):
        ident = request.args.get(key, "")
        if not ident.isdigit():
            continue
        source, error = await source_post(me, ident, remix=remix)
        if source is None:
            break
        values[key] = ident
        if not source.prompt_private or source.account_id == me.id:
            prefill(values, source)
    return await page(me, values, 200 if error is None else 422, error)


def read_values(me: Account, form: Any) -> dict[str, Any]:
    values = defaults(me)
    for key in TEXT_FIELDS:
        values[key] = str(form.get(key, "")).strip()[:5000]
    visibility = str(form.get("visibility", "public"))
    values["visibility"] = visibility if visibility in VISIBILITIES else "public"
    values["size"] = str(form.get("size", "square")) if form.get("size") in SIZES else "square"
    for key in ("prompt_private", "ai_generated", "remix_allowed"):
        values[key] = form.get(key) == "on"
    for key in ("remix_of", "reuse_prompt_of"):
        values[key] = str(form.get(key, "")) if str(form.get(key, "")).isdigit() else ""
    return values


@bp.post("/compose")
async def compose_submit() -> Response:
    me = await current_user()
    if me is None:
        raise Unauthorized("Sign in first.")
    form = await request.form
    values = read_values(me, form)
    try:
        post = await (generate(me, values) if form.get("mode") == "generate" else upload(me, values))
    except FediError as exc:
        return await page(me, values, exc.status, exc.message)
    await flash("Posted.")
    return redirect(post_href(post, me))  # type: ignore[return-value]


async def remix_parent(me: Account, values: dict[str, Any]) -> Post | None:
    if not values["remix_of"]:
        return None
    post, error = await source_post(me, values["remix_of"], remix=True)
    if post is None:
        raise Unprocessable(error or "That post cannot be remixed.")
    return post


async def upload(me: Account, values: dict[str, Any]) -> Post:
    form, files = await request.form, await request.files
    images: list[tuple[bytes, str]] = []
    for n in range(1, MAX_IMAGES + 1):
        item = files.get(f"image{n}")
        data = item.read() if item is not None and item.filename else b""
        if not data:
            continue
        alt = str(form.get(f"alt{n}", "")).strip()
        if not alt:
            raise BadRequest(f"Image {n} needs alt text: describe it for people who cannot see it.")
        images.append((data, alt))
    if not images and not values["caption"]:
        raise BadRequest("Add at least one image, or some text.")
    args = {k: values[k] for k in ("model", "prompt", "negative_prompt", "seed")}
    args.update(prompt_private=values["prompt_private"], ai_generated=values["ai_generated"])
    if values["reuse_prompt_of"]:
        args["reuse_prompt_of"] = values["reuse_prompt_of"]
    generation = await generation_from(args, me)
    parent = await remix_parent(me, values)
    media = [await store_upload(st(), me, data, alt, license=values["license"] or None) for data, alt in images]
    return await publish_post(st(), me, caption=values["caption"], media=media, visibility=values["visibility"],
                              spoiler_text=values["spoiler_text"], sensitive=bool(values["spoiler_text"]),
                              generation=generation, remix_of=parent, remix_allowed=values["remix_allowed"])


async def generate(me: Account, values: dict[str, Any]) -> Post:
    seed = values["seed"]
    if seed and not seed.isdigit():
        raise BadRequest("The seed must be a whole number.")
    width, height = SIZES[values["size"]]
    req = GenerationRequest(prompt=values["prompt"], negative_prompt=values["negative_prompt"] or None,
                            model=values["model"] or None, seed=int(seed) if seed else None,
                            width=width, height=height)
    return await generate_and_post(st(), me, req, caption=values["caption"], visibility=values["visibility"],
                                   prompt_private=values["prompt_private"], remix_of=await remix_parent(me, values),
                                   spoiler_text=values["spoiler_text"], sensitive=bool(values["spoiler_text"]),
                                   remix_allowed=values["remix_allowed"])
