"""Minimal HTML pages for browsers at the same URLs as the ActivityPub documents."""

from __future__ import annotations

import html

from quart import Blueprint, Response, redirect

from fedi.errors import NotFound
from fedi.models import Account, Media, Post
from fedi.web.common import st

bp = Blueprint("pages", __name__)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{head}
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}}
img{{max-width:100%;height:auto}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}}
</style></head><body>{body}</body></html>"""


CSP = "default-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'"


def _page(title: str, body: str, head: str = "", link_ap: str | None = None) -> Response:
    if link_ap:
        head += f'<link rel="alternate" type="application/activity+json" href="{html.escape(link_ap)}">'
    resp = Response(PAGE.format(title=html.escape(title), head=head, body=body),
                    content_type="text/html; charset=utf-8")
    resp.headers["Vary"] = "Accept"
    resp.headers["Content-Security-Policy"] = CSP
    return resp


def _image_html(media: Media) -> str:
    src = media.remote_url or st().urls.media(media.file_name or "")
    alt = html.escape(media.description or "")
    return f'<img src="{html.escape(src)}" alt="{alt}" width="{media.width or ""}" height="{media.height or ""}">'


async def profile_page(account: Account) -> Response:
    posts = await Post.filter(account=account, deleted_at=None, reblog_of=None,
                              visibility__in=["public", "unlisted"]).order_by("-id").limit(40)
    cells = []
    for post in posts:
        media = await Media.filter(post=post).order_by("position").first()
        inner = _image_html(media) if media else post.content
        cells.append(f'<a href="{html.escape(post.url or post.uri)}">{inner}</a>')
    body = (f"<h1>{html.escape(account.display_name or account.username)}</h1>"
            f"<p>@{html.escape(account.username)}@{html.escape(st().cfg.domain)}</p>"
            f"<div>{account.summary}</div><div class=grid>{''.join(cells)}</div>")
    return _page(account.display_name or account.username, body, link_ap=account.uri)


async def post_page(post: Post) -> Response:
    media = await Media.filter(post=post).order_by("position")
    first = media[0] if media else None
    head = ""
    if first:
        src = html.escape(first.remote_url or st().urls.media(first.file_name or ""))
        head = (f'<meta property="og:image" content="{src}"><meta name="twitter:card" content="summary_large_image">'
                f'<meta property="og:title" content="{html.escape(post.account.display_name)}">')
    gen = ""
    if post.ai_generated:
        rows = [("Label", "AI-generated"), ("Model", post.model_name), ("Version", post.model_version),
                ("Prompt", None if post.prompt_private else post.prompt),
                ("Negative prompt", None if post.prompt_private else post.negative_prompt),
                ("Seed", post.seed), ("Steps", post.steps), ("Sampler", post.sampler),
                ("Guidance scale", post.guidance_scale)]
        rows += [(p.get("name"), p.get("value")) for p in post.parameters]
        gen = "<dl>" + "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                               for k, v in rows if v not in (None, "")) + "</dl>"
    for m in media:
        status = (m.provenance or {}).get("status", "none")
        gen += f"<p>Content Credentials: {html.escape(status)}</p>"
        if m.license:
            gen += f"<p>Licence: {html.escape(m.license)}</p>"
    body = (f"<article>{''.join(_image_html(m) for m in media)}<div>{post.content}</div>{gen}"
            f"<p>{post.favourites_count} likes · {post.reblogs_count} boosts · {post.replies_count} replies</p>"
            f'<p><a href="{html.escape(st().urls.profile(post.account.username))}">'
            f"{html.escape(post.account.display_name)}</a></p></article>")
    return _page(f"{post.account.display_name}: post", body, head, link_ap=post.uri)


@bp.get("/@<name>")
async def profile(name: str) -> Response:
    account = await Account.get_or_none(username=name, domain=None, actor_type="Person")
    if account is None or account.suspended:
        raise NotFound(f"no such user: {name}")
    return await profile_page(account)


@bp.get("/@<name>/<int:post_id>")
async def post_html(name: str, post_id: int) -> Response:
    return redirect(st().urls.post(name, post_id))  # type: ignore[return-value]


def _placeholder_png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


_DEFAULTS: dict[str, bytes] = {}


@bp.get("/avatars/default.png")
async def default_avatar() -> Response:
    if "avatar" not in _DEFAULTS:
        _DEFAULTS["avatar"] = _placeholder_png(96, 96, (120, 110, 200))
    return Response(_DEFAULTS["avatar"], content_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/headers/default.png")
async def default_header() -> Response:
    if "header" not in _DEFAULTS:
        _DEFAULTS["header"] = _placeholder_png(300, 100, (40, 40, 60))
    return Response(_DEFAULTS["header"], content_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/tags/<tag>")
async def tag_page(tag: str) -> Response:
    name = tag.lower()
    recent = await Post.filter(deleted_at=None, reblog_of=None, visibility="public").order_by("-id").limit(400)
    cells = []
    for post in [p for p in recent if any(t.get("name", "").lstrip("#").lower() == name for t in p.tags)][:40]:
        media = await Media.filter(post=post).order_by("position").first()
        inner = _image_html(media) if media else post.content
        cells.append(f'<a href="{html.escape(post.url or post.uri)}">{inner}</a>')
    body = f"<h1>#{html.escape(name)}</h1><div class=grid>{''.join(cells)}</div>"
    return _page(f"#{name}", body)


@bp.get("/")
async def home() -> Response:
    posts = await Post.filter(local=True, deleted_at=None, reblog_of=None, visibility="public").order_by(
        "-id").limit(40).select_related("account")
    cells = []
    for post in posts:
        media = await Media.filter(post=post).order_by("position").first()
        if media:
            cells.append(f'<a href="{html.escape(post.uri)}">{_image_html(media)}</a>')
    body = f"<h1>{html.escape(st().cfg.instance_title)}</h1><div class=grid>{''.join(cells)}</div>"
    return _page(st().cfg.instance_title, body)
