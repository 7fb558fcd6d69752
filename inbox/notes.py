"""Remote Notes -> Post and Media rows (ingest), shared by Create, Update and Announce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeGuard

from fedi import edits
from fedi.activitystreams import as_list, first_url, get_id, types
from fedi.ids import new_id
from fedi.models import Account, Media, Post
from fedi.text import sanitize, strip_html
from fedi.urls import AS_PUBLIC
from inbox import ai

POST_TYPES = {"Note", "Article", "Page", "Image", "Question", "Video"}
PUBLIC_ALIASES = {AS_PUBLIC, "as:Public", "Public"}
MAX_ATTACHMENTS = 10


def parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def visibility_of(doc: dict[str, Any], followers_url: str | None) -> str:
    to = {get_id(x) for x in as_list(doc.get("to"))}
    cc = {get_id(x) for x in as_list(doc.get("cc"))}
    if to & PUBLIC_ALIASES:
        return "public"
    if cc & PUBLIC_ALIASES:
        return "unlisted"
    if followers_url and followers_url in to | cc:
        return "private"
    return "direct"


def _focal(value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2:
        try:
            return max(-1.0, min(1.0, float(value[0]))), max(-1.0, min(1.0, float(value[1])))
        except (TypeError, ValueError):
            pass
    return 0.0, 0.0


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000 else None


def media_rows(doc: dict[str, Any], author: Account) -> list[Media]:
    rows = []
    for pos, att in enumerate(a for a in as_list(doc.get("attachment")) if isinstance(a, dict)):
        if pos >= MAX_ATTACHMENTS:
            break
        url = first_url(att.get("url"))
        media_type = str(att.get("mediaType") or "")
        if not url or (media_type and not media_type.startswith("image/") and att.get("type") != "Image"):
            continue
        fx, fy = _focal(att.get("focalPoint"))
        alt = att.get("name") or att.get("summary") or ""
        rows.append(Media(account=author, position=pos, remote_url=url, content_type=media_type or "image/jpeg",
                          width=_int(att.get("width")), height=_int(att.get("height")),
                          blurhash=str(att.get("blurhash"))[:128] if att.get("blurhash") else None,
                          description=strip_html(str(alt))[:1500], focus_x=fx, focus_y=fy,
                          **ai.media_fields(att)))
    return rows


def note_fields(doc: dict[str, Any], author: Account) -> dict[str, Any]:
    tags = [t for t in as_list(doc.get("tag")) if isinstance(t, dict)]
    summary = doc.get("summary")
    return {
        **ai.generation_fields(doc),
        "url": first_url(doc.get("url")) or doc["id"],
        "content": sanitize(str(doc.get("content") or "")),
        "text": strip_html(str(doc.get("content") or "")),
        "visibility": visibility_of(doc, author.followers_url),
        "sensitive": bool(doc.get("sensitive")),
        "spoiler_text": strip_html(summary) if isinstance(summary, str) else "",
        "in_reply_to_uri": get_id(doc.get("inReplyTo")),
        "tags": [{"type": "Hashtag", "name": str(t.get("name")), "href": str(t.get("href") or "")}
                 for t in tags if t.get("type") == "Hashtag" and t.get("name")][:50],
        "mentions": [{"type": "Mention", "name": str(t.get("name") or ""), "href": t["href"]}
                     for t in tags if t.get("type") == "Mention" and isinstance(t.get("href"), str)][:50],
        "to": [x for x in (get_id(v) for v in as_list(doc.get("to"))) if x],
        "cc": [x for x in (get_id(v) for v in as_list(doc.get("cc"))) if x],
    }


async def store_note(doc: dict[str, Any], author: Account) -> Post:
    """Insert a remote note (idempotent by uri). Call inside a transaction."""
    existing = await Post.get_or_none(uri=doc["id"])
    if existing is not None:
        return existing
    fields = note_fields(doc, author)
    parent = await Post.get_or_none(uri=fields["in_reply_to_uri"]) if fields["in_reply_to_uri"] else None
    remixed = await Post.get_or_none(uri=fields["remix_of_uri"]) if fields["remix_of_uri"] else None
    post = await Post.create(id=new_id(), uri=doc["id"], account=author, local=False, in_reply_to=parent,
                             remix_of=remixed, published=parse_time(doc.get("published")), **fields)
    for row in media_rows(doc, author):
        row.post_id = post.id
        await row.save()
    return post


async def update_note(post: Post, doc: dict[str, Any], author: Account) -> None:
    fields = note_fields(doc, author)
    fields.pop("in_reply_to_uri")
    fields.pop("remix_of_uri")
    old = await Media.filter(post=post).order_by("position", "id")
    new = media_rows(doc, author)
    if edits.changed(post, fields, old, new):
        await edits.record(post, old)   # the version the Update replaces, for the edit history
    post.update_from_dict(fields)
    post.edited_at = parse_time(doc.get("updated")) if doc.get("updated") else datetime.now(UTC)
    await post.save()
    await Media.filter(post=post).delete()
    for row in new:
        row.post_id = post.id
        await row.save()


def is_post(doc: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(doc, dict) and bool(set(types(doc)) & POST_TYPES) and isinstance(doc.get("id"), str)
