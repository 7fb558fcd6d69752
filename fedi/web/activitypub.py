"""ActivityPub GETs: actors, objects, activities and collections, each served at its id."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request, send_from_directory

from fedi.errors import Gone, NotFound
from fedi.models import Account, Activity, Follow, Like, Media, Post, Tombstone
from fedi.web.common import ap_response, json_response, st, wants_activitypub
from fedi.web.fastpath import ACTOR_CACHE
from outbox import build

bp = Blueprint("activitypub", __name__)
PAGE = 20


async def _user(name: str) -> Account:
    account = await st().local_account(name)
    if account is not None and account.gone:
        raise Gone(f"{name} has been deleted")
    if account is None or account.suspended or account.actor_type != "Person":
        raise NotFound(f"no such user: {name}")
    return account


async def note_doc(post: Post) -> dict[str, Any]:
    media = await Media.filter(post_id=post.id).order_by("position", "id")
    return build.note(post, post.account, media, st().urls)


@bp.get("/users/<name>")
async def actor(name: str) -> Response:
    account = await _user(name)
    if not wants_activitypub():
        from fedi.web.pages import profile_page
        return await profile_page(account)
    s = st()
    resp = ap_response(s.account_doc("actor", account, lambda: build.with_context(build.actor(account, s.urls))))
    resp.headers["Cache-Control"] = ACTOR_CACHE
    return resp


@bp.get("/actor")
async def instance_actor() -> Response:
    s = st()
    assert s.instance_actor is not None
    return ap_response(build.with_context(build.instance_actor(s.instance_actor, s.urls)))


@bp.get("/actor/<collection>")
@bp.get("/actor/collections/<collection>")
async def instance_actor_collection(collection: str) -> Response:
    if collection not in ("outbox", "followers", "following", "featured"):
        raise NotFound("no such collection")
    ident = st().urls.base + request.path
    return ap_response(build.with_context(build.ordered_collection(ident, 0, items=[])))


async def _local_post(name: str, post_id: int) -> Post:
    s = st()
    uri = s.urls.post(name, post_id)
    post = await Post.get_or_none(uri=uri).select_related("account")
    if post is None:
        if await Tombstone.exists(uri=uri):
            raise Gone("this post was deleted")
        raise NotFound("no such post")
    if post.deleted_at is not None:
        raise Gone("this post was deleted")
    if post.visibility not in ("public", "unlisted"):
        raise NotFound("no such post")  # followers-only and direct posts are not served (no authorized fetch yet)
    return post


@bp.get("/users/<name>/statuses/<int:post_id>")
async def post_object(name: str, post_id: int) -> Response:
    s = st()
    uri = s.urls.post(name, post_id)
    if await Tombstone.exists(uri=uri) and wants_activitypub():
        tomb = await Tombstone.get(uri=uri)
        return ap_response(build.with_context(build.tombstone(uri, tomb.former_type, tomb.deleted_at)), 410)
    post = await _local_post(name, post_id)
    if post.reblog_of_id is not None:
        raise NotFound("no such post")
    if not wants_activitypub():
        from fedi.web.pages import post_page
        return await post_page(post)
    return ap_response(build.with_context(await note_doc(post)))


@bp.get("/users/<name>/statuses/<int:post_id>/activity")
async def post_activity(name: str, post_id: int) -> Response:
    post = await _local_post(name, post_id)
    return ap_response(build.with_context(build.create(await note_doc(post))))


@bp.get("/users/<name>/<kind>/<ident>")
async def stored_activity(name: str, kind: str, ident: str) -> Response:
    uri = st().urls.activity(name, kind, ident)
    row = await Activity.get_or_none(uri=uri)
    if row is None or not row.public:
        raise NotFound("no such activity")
    return ap_response(build.with_context(row.body))


def _page_arg() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return None
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


async def _collection(ident: str, total: int, fetch: Any) -> Response:
    """An OrderedCollection whose pages are ?page=N; fetch(offset, limit) returns the items."""
    page = _page_arg()
    if page is None:
        first = f"{ident}?page=1" if total else None
        return ap_response(build.with_context(build.ordered_collection(ident, total, first)))
    items = await fetch((page - 1) * PAGE, PAGE)
    next_url = f"{ident}?page={page + 1}" if page * PAGE < total else None
    prev_url = f"{ident}?page={page - 1}" if page > 1 else None
    doc = build.collection_page(f"{ident}?page={page}", ident, items, next_url, prev_url)
    doc["totalItems"] = total
    return ap_response(build.with_context(doc))


@bp.get("/users/<name>/outbox")
async def outbox(name: str) -> Response:
    account = await _user(name)
    query = Activity.filter(account=account, public=True, type__in=["Create", "Announce"])

    async def fetch(offset: int, limit: int) -> list[Any]:
        rows = await query.order_by("-id").offset(offset).limit(limit)
        return [r.body for r in rows]

    return await _collection(st().urls.outbox(name), await query.count(), fetch)


@bp.get("/users/<name>/followers")
async def followers(name: str) -> Response:
    account = await _user(name)
    query = Follow.filter(target=account, accepted=True)

    async def fetch(offset: int, limit: int) -> list[Any]:
        rows = await query.order_by("-id").offset(offset).limit(limit).select_related("follower")
        return [r.follower.uri for r in rows]

    return await _collection(st().urls.followers(name), await query.count(), fetch)


@bp.get("/users/<name>/following")
async def following(name: str) -> Response:
    account = await _user(name)
    query = Follow.filter(follower=account, accepted=True)

    async def fetch(offset: int, limit: int) -> list[Any]:
        rows = await query.order_by("-id").offset(offset).limit(limit).select_related("target")
        return [r.target.uri for r in rows]

    return await _collection(st().urls.following(name), await query.count(), fetch)


@bp.get("/users/<name>/collections/featured")
async def featured(name: str) -> Response:
    """The pinned posts, newest pin first, embedded whole as Mastodon does (at most 5: no pages)."""
    account = await _user(name)
    posts = await Post.filter(account=account, pinned_at__not_isnull=True, deleted_at=None, reblog_of=None,
                              visibility__in=["public", "unlisted"]).order_by("-pinned_at", "-id")
    media: dict[int, list[Media]] = {}
    for m in await Media.filter(post_id__in=[p.id for p in posts]).order_by("position", "id"):
        media.setdefault(m.post_id or 0, []).append(m)
    notes = [build.note(p, account, media.get(p.id, []), st().urls) for p in posts]
    return ap_response(build.with_context(build.ordered_collection(st().urls.featured(name), len(notes), items=notes)))


@bp.get("/users/<name>/statuses/<int:post_id>/replies")
async def replies(name: str, post_id: int) -> Response:
    post = await _local_post(name, post_id)
    query = Post.filter(in_reply_to=post, deleted_at=None, visibility__in=["public", "unlisted"])

    async def fetch(offset: int, limit: int) -> list[Any]:
        return list(await query.order_by("id").offset(offset).limit(limit).values_list("uri", flat=True))

    return await _collection(f"{post.uri}/replies", await query.count(), fetch)


@bp.get("/users/<name>/statuses/<int:post_id>/remixes")
async def remixes(name: str, post_id: int) -> Response:
    post = await _local_post(name, post_id)
    query = Post.filter(remix_of=post, deleted_at=None, visibility__in=["public", "unlisted"])

    async def fetch(offset: int, limit: int) -> list[Any]:
        return list(await query.order_by("id").offset(offset).limit(limit).values_list("uri", flat=True))

    return await _collection(f"{post.uri}/remixes", await query.count(), fetch)


@bp.get("/ns/fedi.jsonld")
async def fedi_context() -> Response:
    import schemas
    resp = json_response(schemas.context("fedi"), content_type="application/ld+json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp


@bp.get("/users/<name>/statuses/<int:post_id>/likes")
async def likes(name: str, post_id: int) -> Response:
    post = await _local_post(name, post_id)
    total = await Like.filter(post=post).count()
    return ap_response(build.with_context(build.ordered_collection(f"{post.uri}/likes", total)))


@bp.get("/users/<name>/statuses/<int:post_id>/shares")
async def shares(name: str, post_id: int) -> Response:
    post = await _local_post(name, post_id)
    total = await Post.filter(reblog_of=post, deleted_at=None).count()
    return ap_response(build.with_context(build.ordered_collection(f"{post.uri}/shares", total)))


@bp.get("/media/originals/<file_name>")
async def original_file(file_name: str) -> Response:
    """The upload as it was, with its Content Credentials, for images that carry them.

    Originals without a C2PA manifest are not served: they may hold personal EXIF (GPS, serials)
    that the display versions drop; stripping it from a signed file would break its signature."""
    media = await Media.get_or_none(original_name=file_name)
    if media is None or (media.provenance or {}).get("status", "none") == "none" or "/" in file_name:
        raise NotFound("no such file")
    resp = await send_from_directory(st().cfg.data_dir / "originals", file_name)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp


@bp.get("/media/<file_name>")
async def media_file(file_name: str) -> Response:
    if "/" in file_name or file_name.startswith("."):
        raise NotFound("no such file")
    resp = await send_from_directory(st().cfg.media_dir, file_name)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp
