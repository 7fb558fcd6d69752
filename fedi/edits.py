"""Edit history: each earlier version of a post, images and their alt texts included.

A StatusEdit row is written, in the edit's transaction, before a post changes (a local edit through
outbox/publish.py, a remote Update through inbox/notes.py). It keeps the images as they were, as plain
data: a remote Update replaces the post's Media rows, so the history cannot point at them. The API
(GET /api/v1/statuses/:id/history) and the post page turn the snapshots back into unsaved Media objects
and serialise them like the current ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fedi.models import Media, Post, StatusEdit

# What a version's image needs to be shown again (fedi.api.serializers.media_json, the post page).
_KEPT = ("id", "position", "file_name", "thumb_name", "remote_url", "content_type", "width", "height", "blurhash",
         "description", "focus_x", "focus_y", "original_name", "license", "ai_training", "digital_source_type",
         "provenance")


def snapshot(media: list[Media]) -> list[dict[str, Any]]:
    return [{name: getattr(m, name) for name in _KEPT} for m in media]


def restore(edit: StatusEdit) -> list[Media]:
    """The images of an earlier version, as unsaved Media objects (none for edits recorded before 0007)."""
    return [Media(**{k: v for k, v in item.items() if k in _KEPT}) for item in edit.media or []
            if isinstance(item, dict)]


async def record(post: Post, media: list[Media], written_at: datetime | None = None) -> StatusEdit:
    """Keep the post's current version (call it before changing the post, in the same transaction)."""
    return await StatusEdit.create(post=post, content=post.content, spoiler_text=post.spoiler_text,
                                   sensitive=post.sensitive, media=snapshot(media),
                                   created_at=written_at or post.edited_at or post.published)


def changed(post: Post, fields: dict[str, Any], old: list[Media], new: list[Media]) -> bool:
    """Whether a remote Update changes what a reader sees (text, content warning, sensitivity, images or
    their alt texts): Mastodon keeps a version only for such changes, not for a new reply count."""
    if any(fields.get(k, getattr(post, k)) != getattr(post, k) for k in ("content", "spoiler_text", "sensitive")):
        return True
    def seen(items: list[Media]) -> list[tuple[Any, ...]]:
        return [(m.remote_url or m.file_name, m.description) for m in items]
    return seen(old) != seen(new)
