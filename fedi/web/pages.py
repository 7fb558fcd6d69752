"""HTML pages for browsers: what a post, a profile and a grid of posts show (templates in templates/,
CSS and a little JavaScript in static/, served under /assets). activitypub.py serves profile_page and
post_page at the ActivityPub ids when a browser asks; gallery.py and forms.py hold the other routes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from markupsafe import Markup
from quart import Blueprint, Response

from fedi import edits
from fedi.api.serializers import account_counts
from fedi.api.statuses import can_see
from fedi.filters import ActiveFilters
from fedi.models import Account, Bookmark, Follow, Like, Media, Post, StatusEdit
from fedi.text import sanitize, strip_html
from fedi.uploads import SPDX_RE
from fedi.web.common import st
from fedi.web.filtering import filter_cards, page_filters
from fedi.web.session import current_user, render, web_url

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")

PAGE_SIZE = 24
View = dict[str, Any]


def profile_href(account: Account) -> str:
    return f"/@{account.acct()}"


def post_href(post: Post, account: Account) -> str:
    return f"/@{account.acct()}/{post.id}"


def avatar_src(account: Account) -> str:
    return account.avatar_url or "/avatars/default.png"


def when(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y, %H:%M} UTC" if value else ""


def safe_html(raw: str | None) -> Markup:
    """Post and profile HTML: sanitised at ingest (remote) or rendered from plain text (local); cleaned
    again here so nothing else is ever marked safe."""
    return Markup(sanitize(raw or ""))  # noqa: S704 - nh3-sanitised just above


def image_view(m: Media, author: Account) -> View:
    full = m.remote_url or f"/media/{m.file_name}"
    thumb = m.remote_url or f"/media/{m.thumb_name or m.file_name}"
    alt = (m.description or "").strip() or f"Image posted by {author.display_name or author.username}, not described"
    return {"src": full, "thumb": thumb, "alt": alt, "described": bool((m.description or "").strip()),
            "width": m.width or None, "height": m.height or None, "media": m}


async def media_by_post(ids: list[int]) -> dict[int, list[Media]]:
    out: dict[int, list[Media]] = defaultdict(list)
    for m in await Media.filter(post_id__in=ids).order_by("position", "id"):
        out[m.post_id or 0].append(m)
    return out


def hidden_for(viewer: Account | None, post: Post) -> bool:
    """Whether the reader asked to blur AI-labelled posts from other servers."""
    return viewer is not None and viewer.ai_filter in ("blur", "hide") and post.ai_generated and not post.local


async def build_cards(posts: list[Post], viewer: Account | None, filters: ActiveFilters | None = None, *,
                      keep: bool = False) -> list[View]:
    """Posts (boosts shown as what they boost) as grid cards, in a fixed number of queries; with the
    viewer's `filters` for the page (filtering.page_filters), as filtering.filter_cards leaves them."""
    inner = {p.id: p for p in await Post.filter(id__in=[p.reblog_of_id for p in posts if p.reblog_of_id])}
    pairs = [(p, inner.get(p.reblog_of_id) if p.reblog_of_id else p) for p in posts]
    shown = [(outer, post) for outer, post in pairs if post is not None and post.deleted_at is None]
    accounts = {a.id: a for a in await Account.filter(
        id__in={p.account_id for pair in shown for p in pair})}
    media = await media_by_post([post.id for _, post in shown])
    cards = []
    for outer, post in shown:
        author = accounts[post.account_id]
        images = [image_view(m, author) for m in media.get(post.id, [])]
        cards.append({
            "post": post, "href": post_href(post, author), "author": author, "author_href": profile_href(author),
            "avatar": avatar_src(author), "images": images, "more": max(0, len(images) - 1),
            "excerpt": strip_html(post.content)[:280], "content": safe_html(post.content),
            "spoiler": post.spoiler_text, "sensitive": post.sensitive or bool(post.spoiler_text),
            "blur": hidden_for(viewer, post), "published": when(post.published),
            "published_iso": post.published.isoformat() if post.published else "",
            "boosted_by": accounts[outer.account_id] if outer is not post else None,
        })
    return filter_cards(cards, filters, viewer, keep=keep)


def next_page(posts: list[Post], path: str, size: int = PAGE_SIZE) -> str | None:
    return f"{path}?max_id={min(p.id for p in posts)}" if len(posts) >= size else None


async def visible_kinds(viewer: Account | None, account: Account) -> list[str]:
    kinds = ["public", "unlisted"]
    if viewer is not None and (viewer.id == account.id or await Follow.exists(
            follower=viewer, target=account, accepted=True)):
        kinds.append("private")
    return kinds


async def pinned_cards(account: Account, viewer: Account | None, filters: ActiveFilters | None) -> list[View]:
    """The account's pinned posts, newest pin first, for the top of its profile (as Mastodon's)."""
    posts = await Post.filter(account=account, deleted_at=None, reblog_of=None, pinned_at__not_isnull=True,
                              visibility__in=await visible_kinds(viewer, account)).order_by("-pinned_at")
    return await build_cards(list(posts), viewer, filters) if posts else []


async def profile_page(account: Account, max_id: int | None = None) -> Response:
    viewer = await current_user()
    query = Post.filter(account=account, deleted_at=None, reblog_of=None,
                        visibility__in=await visible_kinds(viewer, account))
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    posts = list(await query.order_by("-id").limit(PAGE_SIZE))
    followers, following, statuses = (await account_counts([account]))[account.id]
    relation = None
    if viewer is not None and viewer.id != account.id:
        relation = await Follow.get_or_none(follower=viewer, target=account)
    name = account.display_name or account.username
    filters = await page_filters(viewer, "account")     # once for the page: pinned and other posts
    return await render("profile.html", account=account, name=name, acct=account.acct(),
                        handle=account.acct() if account.domain else f"{account.username}@{st().cfg.domain}",
                        bio=safe_html(account.summary), avatar=avatar_src(account),
                        header=account.header_url or "/headers/default.png",
                        counts={"followers": followers, "following": following, "posts": statuses},
                        cards=await build_cards(posts, viewer, filters),
                        next_url=next_page(posts, profile_href(account)),
                        relation=relation, origin=None if account.local else web_url(account.url or account.uri),
                        ap_link=account.uri,
                        pinned=await pinned_cards(account, viewer, filters) if max_id is None else [])


def _license(value: str | None) -> View | None:
    if not value:
        return None
    if web_url(value):
        return {"label": value, "href": value}
    return {"label": value, "href": f"https://spdx.org/licenses/{value}.html" if SPDX_RE.match(value) else None}


def generation_rows(post: Post, viewer: Account | None) -> tuple[list[tuple[str, Any]], bool]:
    """(label, value) rows of how the image was made, and whether the prompt is kept private."""
    own = viewer is not None and viewer.id == post.account_id
    private = post.prompt_private and not own
    rows: list[tuple[str, Any]] = [
        ("Model", " ".join(x for x in (post.model_name, post.model_version) if x)),
        ("Prompt", None if private else post.prompt),
        ("Negative prompt", None if private else post.negative_prompt),
        ("Seed", post.seed), ("Steps", post.steps), ("Sampler", post.sampler),
        ("Guidance scale", post.guidance_scale)]
    rows += [(str(p.get("name", "")), p.get("value")) for p in post.parameters or [] if isinstance(p, dict)]
    return [(k, v) for k, v in rows if v not in (None, "")], private and bool(post.prompt or post.ai_generated)


def credentials_view(m: Media) -> View:
    """Content Credentials (C2PA) of one image as read at upload, and its licence."""
    p = m.provenance or {}
    status = p.get("status", "none")
    return {"status": status, "claim_generator": p.get("claim_generator"), "issuer": p.get("issuer"),
            "trusted": bool(p.get("trusted")), "license": _license(m.license),
            "original": f"/media/originals/{m.original_name}" if m.original_name and status != "none" else None}


async def linked_post(post_id: int | None, viewer: Account | None) -> View | None:
    """A link to a post this one answers or remixes, when the reader may see it."""
    other = await Post.get_or_none(id=post_id, deleted_at=None) if post_id else None
    if other is None or not await can_see(other, viewer):
        return None
    return {"href": post_href(other, await other.account), "label": strip_html(other.content)[:80]}


async def post_page(post: Post, status: int = 200) -> Response:
    """A post at full quality with its alt text, how it was made, its counts, replies and remixes; the
    viewer's thread filters warn about the post itself (never hide it) and apply to the rest."""
    viewer = await current_user()
    author = await post.account
    filters = await page_filters(viewer, "thread")
    card = (await build_cards([post], viewer, filters, keep=True))[0]
    rows, prompt_private = generation_rows(post, viewer)
    remix_parent = await linked_post(post.remix_of_id, viewer)
    if remix_parent is None and web_url(post.remix_of_uri):
        remix_parent = {"href": post.remix_of_uri, "label": post.remix_of_uri}
    remixes = [p for p in await Post.filter(remix_of=post, deleted_at=None).order_by("-id").limit(24)
               if await can_see(p, viewer)]
    replies = [p for p in await Post.filter(in_reply_to=post, deleted_at=None).order_by("id").limit(60)
               if await can_see(p, viewer)]
    liked = boosted = bookmarked = False
    if viewer is not None:
        liked = await Like.exists(account=viewer, post=post)
        boosted = await Post.exists(account=viewer, reblog_of=post, deleted_at=None)
        bookmarked = await Bookmark.exists(account=viewer, post=post)
    base = st().urls.base
    first = card["images"][0] if card["images"] else None
    og = {"title": f"{author.display_name or author.username} (@{author.acct()})",
          "description": card["excerpt"] or ("AI-generated image" if post.ai_generated else "An image"),
          "url": post.url if post.local and post.url else base + card["href"],
          "image": (first["src"] if first["src"].startswith("http") else base + first["src"]) if first else None,
          "image_alt": first["alt"] if first else None,
          "width": first["width"] if first else None, "height": first["height"] if first else None}
    return await render(
        "post.html", status, post=post, card=card, author=author, rows=rows, prompt_private=prompt_private,
        credentials=[credentials_view(img["media"]) for img in card["images"]], remix_parent=remix_parent,
        reply_to=await linked_post(post.in_reply_to_id, viewer), remixes=await build_cards(remixes, viewer, filters),
        replies=await build_cards(replies, viewer, filters), liked=liked, boosted=boosted, og=og,
        origin=None if post.local else web_url(post.url or post.uri), ap_link=post.uri,
        can_boost=post.visibility in ("public", "unlisted"),
        can_reuse=post.ai_generated and bool(post.prompt) and not prompt_private,
        can_remix=post.remix_allowed, bookmarked=bookmarked, own=viewer is not None and viewer.id == author.id,
        edited=when(post.edited_at) if post.edited_at else None, history=await edit_history(post))


async def edit_history(post: Post) -> list[View]:
    """The earlier versions of an edited post (StatusEdit rows, as GET /api/v1/statuses/:id/history
    lists them), newest first: caption, content warning, the images' alt texts, and when each was written."""
    if post.edited_at is None:
        return []
    return [{"content": safe_html(e.content), "spoiler": e.spoiler_text, "when": when(e.created_at),
             "iso": e.created_at.isoformat(), "alts": [m.description for m in edits.restore(e)]}
            for e in await StatusEdit.filter(post=post).order_by("-id")]


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
