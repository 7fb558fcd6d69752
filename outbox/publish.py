"""Publishing: a post or an activity becomes durable Delivery rows in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from tortoise.expressions import F

from fedi import edits
from fedi.actors import resolve_handle
from fedi.admin import blocked_by, blocked_domains
from fedi.db import atomic
from fedi.errors import BadRequest, FediError, NotFound, Unprocessable
from fedi.generation_meta import Generation
from fedi.ids import new_id
from fedi.models import VISIBILITIES, Account, Activity, Delivery, Follow, Media, Notification, Post
from fedi.provenance import AI_SOURCE_TYPES
from fedi.state import State
from fedi.text import hashtags, mention_handles, render
from outbox import build

log = logging.getLogger("fedi.publish")
MAX_MEDIA = 10          # Mastodon shows 4: a post with more says so in its text, with a link
MASTODON_SHOWS = 4


def inbox_of(account: Account) -> str:
    return account.shared_inbox or account.inbox


async def follower_inboxes(account: Account) -> set[str]:
    rows = await Follow.filter(target=account, accepted=True, follower__domain__not_isnull=True).values(
        "follower__inbox", "follower__shared_inbox")
    return {r["follower__shared_inbox"] or r["follower__inbox"] for r in rows if r["follower__inbox"]}


async def enqueue(state: State, sender: Account, doc: dict[str, Any], inboxes: Iterable[str], *,
                  post_id: int | None = None, public: bool = True, store: bool = True) -> int:
    """Store the activity (served at its id) and one Delivery per inbox. Call inside a transaction."""
    body = orjson.dumps(build.with_context(doc)).decode()
    if store:
        await Activity.create(uri=doc["id"], type=doc["type"], account=sender, post_id_ref=post_id, body=doc,
                              public=public)
    now = datetime.now(UTC)
    targets = sorted({i for i in inboxes if i and not i.startswith(state.urls.base + "/")})
    blocked = await blocked_domains(state)
    if blocked:  # nothing is sent to a blocked server
        targets = [i for i in targets if not blocked_by(urlsplit(i).netloc, blocked)]
    rows = [Delivery(activity_uri=doc["id"], post_id_ref=post_id, sender=sender, inbox=inbox,
                     host=urlsplit(inbox).netloc.lower(), body=body, next_try=now) for inbox in targets]
    if rows:
        await Delivery.bulk_create(rows)
    return len(rows)


async def _mentions(state: State, text: str) -> dict[tuple[str, str], Account]:
    found: dict[tuple[str, str], Account] = {}
    for user, domain in mention_handles(text, state.cfg.domain)[:20]:
        try:
            found[(user, domain)] = await resolve_handle(state, f"{user}@{domain}")
        except FediError as exc:
            log.info("mention @%s@%s not resolved: %s", user, domain, exc)
    return found


def decorated_caption(caption: str, generation: Generation | None, n_media: int, url: str) -> str:
    """The caption as published: plus "Made with MODEL #AIart" for AI images (so servers that know
    nothing of fedi still show it and let people filter), and a note when Mastodon hides images."""
    lines = [caption.strip()] if caption.strip() else []
    if generation is not None and generation.ai_generated:
        made = f"Made with {generation.model}" if generation.model else "AI-generated"
        tag = "" if any(t.lower() == "aiart" for t in hashtags(caption)) else " #AIart"
        lines.append(made + tag)
    if n_media > MASTODON_SHOWS:
        lines.append(f"{n_media} images in all: {url}")
    return "\n\n".join(lines)


async def publish_post(state: State, author: Account, *, caption: str = "", media: list[Media] | None = None,
                       visibility: str = "public", spoiler_text: str = "", sensitive: bool = False,
                       in_reply_to: Post | None = None, generation: Generation | None = None,
                       remix_of: Post | None = None, remix_allowed: bool | None = None) -> Post:
    """Create a post and queue its delivery, in one transaction. Returns the stored post."""
    media = media or []
    if remix_of is not None and not remix_of.remix_allowed:
        raise Unprocessable("the author does not allow remixes of that post")
    if visibility not in VISIBILITIES:
        raise BadRequest(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if len(media) > MAX_MEDIA:
        raise BadRequest(f"at most {MAX_MEDIA} images a post")
    if not caption.strip() and not media:
        raise BadRequest("a post needs text or at least one image")
    if len(caption) > 5000:
        raise BadRequest("the text is longer than 5000 characters")
    mentioned = await _mentions(state, caption)
    urls = state.urls
    post_id = new_id()
    full = decorated_caption(caption, generation, len(media), urls.post_html(author.username, post_id))
    rendered = render(full, urls.tag, {k: (a.uri, a.url or a.uri) for k, a in mentioned.items()},
                      state.cfg.domain)
    recipients = list({a.uri: a for a in mentioned.values()}.values())
    for parent in (in_reply_to, remix_of):
        if parent is not None:
            parent_author = await parent.account
            if parent_author.id != author.id and all(a.id != parent_author.id for a in recipients):
                recipients.append(parent_author)
    to, cc = build.audience(visibility, urls.followers(author.username), [a.uri for a in recipients])
    now = datetime.now(UTC)
    generation = generation or Generation()
    if any(m.digital_source_type in AI_SOURCE_TYPES for m in media):
        generation.ai_generated = True   # the image's own Content Credentials say it was generated
    extra = generation.post_fields()
    if remix_allowed is None:
        remix_allowed = author.remix_default

    rendered_mentions = {m["href"] for m in rendered.mentions}

    async def work() -> Post:
        post = await Post.create(
            id=post_id, uri=urls.post(author.username, post_id), url=urls.post_html(author.username, post_id),
            account=author, local=True, text=caption, content=rendered.html, visibility=visibility,
            sensitive=sensitive or bool(spoiler_text), spoiler_text=spoiler_text,
            in_reply_to=in_reply_to, in_reply_to_uri=in_reply_to.uri if in_reply_to else None,
            remix_of=remix_of, remix_of_uri=remix_of.uri if remix_of else None, remix_allowed=remix_allowed,
            tags=rendered.tags, mentions=rendered.mentions, to=to, cc=cc, published=now, **extra)
        for pos, item in enumerate(media):
            item.post_id = post.id
            item.position = pos
            await item.save(update_fields=["post_id", "position"])
        post.account = author
        note = build.note(post, author, media, urls)
        inboxes: set[str] = set()
        if visibility != "direct":
            inboxes |= await follower_inboxes(author)
        inboxes |= {inbox_of(a) for a in recipients if not a.local}
        await enqueue(state, author, build.create(note), inboxes, post_id=post.id,
                      public=visibility in ("public", "unlisted"))
        if in_reply_to is not None:
            await Post.filter(id=in_reply_to.id).update(replies_count=F("replies_count") + 1)
        remix_author_id = remix_of.account_id if remix_of is not None else None
        for account in recipients:
            if account.local and account.id != author.id:
                kind = "remix" if account.id == remix_author_id and account.uri not in rendered_mentions else "mention"
                await Notification.create(account=account, from_account=author, type=kind, post=post)
        return post

    post = await atomic(work)
    state.wake_delivery()
    return post


async def delete_post(state: State, author: Account, post: Post) -> None:
    from fedi.models import Tombstone

    async def work() -> None:
        inboxes = await _audience_inboxes(author, post)
        await Post.filter(id=post.id).update(deleted_at=datetime.now(UTC))
        await Activity.filter(post_id_ref=post.id, type="Create").update(public=False)  # gone from the outbox
        if post.reblog_of_id is None:
            await Tombstone.get_or_create(uri=post.uri, defaults={"former_type": "Note"})
            await enqueue(state, author, build.delete(post.uri, author.uri, post.to, post.cc), inboxes,
                          post_id=post.id, store=False)
        if post.in_reply_to_id:
            await Post.filter(id=post.in_reply_to_id, replies_count__gt=0).update(replies_count=F("replies_count") - 1)

    await atomic(work)
    state.wake_delivery()


async def local_post_by_uri(uri: str) -> Post:
    post = await Post.get_or_none(uri=uri, deleted_at=None)
    if post is None:
        raise NotFound("no such post")
    return post


async def _audience_inboxes(author: Account, post: Post) -> set[str]:
    inboxes = await follower_inboxes(author) if post.visibility != "direct" else set()
    remote = await Account.filter(uri__in=[*post.to, *post.cc], domain__not_isnull=True)
    return inboxes | {inbox_of(a) for a in remote}


async def edit_post(state: State, author: Account, post: Post, *, caption: str, spoiler_text: str,
                    sensitive: bool, descriptions: dict[int, str] | None = None) -> Post:
    """Edit a post's text, content warning and its images' alt texts (`descriptions`: media id -> text;
    ids of other posts' media are ignored, as Mastodon's media_attributes); an Update goes to everyone who
    got the Create."""
    if not caption.strip() and not await Media.exists(post_id=post.id):
        raise BadRequest("a post needs text or at least one image")
    if len(caption) > 5000:
        raise BadRequest("the text is longer than 5000 characters")
    mentioned = await _mentions(state, caption)
    n_media = await Media.filter(post_id=post.id).count()
    generation = Generation(model=post.model_name, ai_generated=post.ai_generated)
    full = decorated_caption(caption, generation, n_media, post.url or post.uri)
    rendered = render(full, state.urls.tag, {k: (a.uri, a.url or a.uri) for k, a in mentioned.items()},
                      state.cfg.domain)
    now = datetime.now(UTC)

    newly = [a.uri for a in mentioned.values() if a.uri not in post.to and a.uri not in post.cc]

    async def work() -> Post:
        media = await Media.filter(post_id=post.id).order_by("position", "id")
        await edits.record(post, media)
        if post.visibility == "direct":
            post.to = [*post.to, *newly]
        else:
            post.cc = [*post.cc, *newly]
        post.text, post.content, post.tags = caption, rendered.html, rendered.tags
        post.mentions = rendered.mentions
        post.spoiler_text, post.sensitive, post.edited_at = spoiler_text, sensitive or bool(spoiler_text), now
        await post.save()
        for item in media:
            text = (descriptions or {}).get(item.id)
            if text is not None and text != item.description:
                item.description = text[:1500]
                await item.save(update_fields=["description"])
        note = build.note(post, author, media, state.urls)
        await enqueue(state, author, build.update(note, now), await _audience_inboxes(author, post),
                      post_id=post.id, store=False)
        return post

    post = await atomic(work)
    state.wake_delivery()
    return post


async def publish_profile(state: State, account: Account) -> None:
    """Tell followers' servers that a local account's profile changed."""
    now = datetime.now(UTC)

    async def work() -> None:
        doc = build.actor(account, state.urls)
        await enqueue(state, account, build.update_actor(doc, now), await follower_inboxes(account), store=False)

    await atomic(work)
    state.wake_delivery()
