"""Models -> Mastodon API entities (Account, Status, MediaAttachment, Notification)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, cast

from fedi.filters import Match, active_filters
from fedi.models import Account, Bookmark, Filter, FilterKeyword, FilterStatus, Follow, Like, Media, Notification, Post
from fedi.state import State
from fedi.text import strip_html

Doc = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else None


async def account_counts(accounts: list[Account]) -> dict[int, tuple[int, int, int]]:
    ids = [a.id for a in accounts]
    followers: dict[int, int] = defaultdict(int)
    following: dict[int, int] = defaultdict(int)
    statuses: dict[int, int] = defaultdict(int)
    for row in await Follow.filter(target_id__in=ids, accepted=True).values("target_id"):
        followers[row["target_id"]] += 1
    for row in await Follow.filter(follower_id__in=ids, accepted=True).values("follower_id"):
        following[row["follower_id"]] += 1
    for row in await Post.filter(account_id__in=ids, deleted_at=None).values("account_id"):
        statuses[row["account_id"]] += 1
    return {i: (followers[i], following[i], statuses[i]) for i in ids}


def account_json(state: State, a: Account, counts: tuple[int, int, int] = (0, 0, 0)) -> Doc:
    avatar = a.avatar_url or f"{state.urls.base}/avatars/default.png"
    header = a.header_url or f"{state.urls.base}/headers/default.png"
    return {
        "id": str(a.id), "username": a.username, "acct": a.acct(),
        "display_name": a.display_name, "locked": a.manually_approves_followers, "bot": a.bot,
        "discoverable": a.discoverable, "group": a.actor_type == "Group", "indexable": a.discoverable,
        "created_at": iso(a.created_at), "note": a.summary, "url": a.url or a.uri, "uri": a.uri,
        "avatar": avatar, "avatar_static": avatar, "header": header, "header_static": header,
        "followers_count": counts[0], "following_count": counts[1], "statuses_count": counts[2],
        "last_status_at": None, "emojis": [], "fields": [], "hide_collections": False,
        "noindex": not a.discoverable, "roles": [],
    }


async def accounts_json(state: State, accounts: list[Account]) -> list[Doc]:
    counts = await account_counts(accounts)
    return [account_json(state, a, counts[a.id]) for a in accounts]


async def one_account(state: State, account: Account, *, source: bool = False) -> Doc:
    doc = (await accounts_json(state, [account]))[0]
    if source:
        pending = await Follow.filter(target=account, accepted=False).count()
        doc["source"] = {"privacy": "public", "sensitive": False, "language": None, "note": account.summary,
                         "fields": [], "follow_requests_count": pending,
                         "fedi": {"ai_filter": account.ai_filter, "remix_default": account.remix_default}}
    return doc


def media_json(state: State, m: Media) -> Doc:
    url = m.remote_url or state.urls.media(m.file_name or "")
    preview = m.remote_url or state.urls.media(m.thumb_name or m.file_name or "")
    meta: Doc = {"focus": {"x": m.focus_x, "y": m.focus_y}}
    if m.width and m.height:
        meta["original"] = {"width": m.width, "height": m.height, "size": f"{m.width}x{m.height}",
                            "aspect": round(m.width / m.height, 4)}
    return {"id": str(m.id), "type": "image", "url": url, "preview_url": preview,
            "remote_url": m.remote_url, "preview_remote_url": None, "text_url": None, "meta": meta,
            "description": m.description or None, "blurhash": m.blurhash,
            "fedi": {"license": m.license, "ai_training": m.ai_training,
                     "digital_source_type": m.digital_source_type,
                     "content_credentials": credentials_json(state, m)}}


def credentials_json(state: State, m: Media) -> Doc:
    """Content Credentials (C2PA) read from the upload: verified, invalid or none."""
    p = m.provenance or {}
    status = p.get("status", "none")
    original = f"{state.urls.base}/media/originals/{m.original_name}" if status != "none" and m.original_name \
        else None
    return {"status": status, "claim_generator": p.get("claim_generator"), "issuer": p.get("issuer"),
            "trusted": bool(p.get("trusted")), "errors": p.get("errors", []), "original_url": original}


async def statuses_json(state: State, posts: list[Post], viewer: Account | None,
                        context: str | None = None) -> list[Doc]:
    """Serialise many statuses with a fixed number of queries (reblogged originals included).
    With a `context` (home, public, thread, account, notifications), the viewer's own filters for it
    fill `filtered`; `without_hidden()` then drops what a hide filter matched."""
    if not posts:
        return []
    originals = [p for p in posts if p.reblog_of_id is not None]
    inner = {p.id: p for p in await Post.filter(id__in=[p.reblog_of_id for p in originals])}
    everything = list({p.id: p for p in [*posts, *inner.values()]}.values())
    ids = [p.id for p in everything]
    accounts = {a.id: a for a in await Account.filter(id__in={p.account_id for p in everything})}
    counts = await account_counts(list(accounts.values()))
    acc_json = {i: account_json(state, a, counts[i]) for i, a in accounts.items()}
    media: dict[int, list[Doc]] = defaultdict(list)
    for m in await Media.filter(post_id__in=ids).order_by("position", "id"):
        media[cast(int, m.post_id)].append(media_json(state, m))  # not None: filtered on post_id__in
    liked: set[int] = set()
    boosted: set[int] = set()
    marked: set[int] = set()
    if viewer is not None:
        marked = set(cast(list[int], await Bookmark.filter(account=viewer, post_id__in=ids)
                          .values_list("post_id", flat=True)))
        liked = set(cast(list[int], await Like.filter(account=viewer, post_id__in=ids)
                         .values_list("post_id", flat=True)))
        boosted = set(cast(list[int], await Post.filter(account=viewer, reblog_of_id__in=ids, deleted_at=None)
                           .values_list("reblog_of_id", flat=True)))
    parents = {p.in_reply_to_id for p in everything if p.in_reply_to_id}
    parent_authors = dict(await Post.filter(id__in=parents).values_list("id", "account_id")) if parents else {}
    rules = await active_filters(viewer.id, context) if viewer is not None and context else None
    matched: dict[int, list[Doc]] = {}

    def user_filters(p: Post) -> list[Doc]:
        """What the viewer's filters say of a status (of the boosted one, for a boost); never their own."""
        proper = inner.get(p.reblog_of_id, p) if p.reblog_of_id else p
        if rules is None or viewer is None or proper.account_id == viewer.id:
            return []
        if proper.id not in matched:
            text = filter_text(proper, media.get(proper.id, [])) if rules.any_keyword is not None else ""
            matched[proper.id] = [filter_result_json(m) for m in rules.match(proper.id, text)]
        return matched[proper.id]

    def one(p: Post) -> Doc:
        reblog = one(inner[p.reblog_of_id]) if p.reblog_of_id in inner else None
        parent_id = p.in_reply_to_id
        doc: Doc = {
            "id": str(p.id), "created_at": iso(p.published), "edited_at": iso(p.edited_at),
            "in_reply_to_id": str(parent_id) if parent_id else None,
            "in_reply_to_account_id": str(parent_authors[parent_id]) if parent_id in parent_authors else None,
            "sensitive": p.sensitive, "spoiler_text": p.spoiler_text, "visibility": p.visibility,
            "language": p.language, "uri": p.uri, "url": p.url or p.uri,
            "replies_count": p.replies_count, "reblogs_count": p.reblogs_count,
            "favourites_count": p.favourites_count,
            "favourited": p.id in liked, "reblogged": p.id in boosted, "muted": False, "bookmarked": p.id in marked,
            "content": p.content if reblog is None else "", "filtered": [],
            "reblog": reblog, "application": None, "account": acc_json[p.account_id],
            "media_attachments": media.get(p.id, []),
            "mentions": [{"id": None, "username": m["name"].lstrip("@").split("@")[0], "url": m["href"],
                          "acct": m["name"].lstrip("@")} for m in p.mentions],
            "tags": [{"name": t["name"].lstrip("#"), "url": t["href"]} for t in p.tags],
            "emojis": [], "card": None, "poll": None,
        }
        if viewer is not None and p.account_id == viewer.id and p.reblog_of_id is None \
                and p.visibility in ("public", "unlisted"):
            doc["pinned"] = p.pinned_at is not None    # as Mastodon: only to the author, only if it can be pinned
        doc["fedi"] = fedi_json(p, viewer)
        if viewer is not None and viewer.ai_filter == "blur" and p.ai_generated and not p.local:
            doc["sensitive"] = True
            doc["spoiler_text"] = doc["spoiler_text"] or "AI-generated image"
            doc["filtered"] = [{"filter": ai_filter_json(viewer), "keyword_matches": None,
                                "status_matches": [str(p.id)]}]
        doc["filtered"] = doc["filtered"] + user_filters(p)
        return doc

    return [one(p) for p in posts]


def filter_text(p: Post, media: list[Doc]) -> str:
    """What keyword filters look at: content warning, text, image descriptions, the public prompt."""
    parts = [p.spoiler_text, strip_html(p.content), *(m["description"] or "" for m in media)]
    if p.prompt and not p.prompt_private:
        parts.append(p.prompt)
    return "\n".join(parts)


def without_hidden(docs: list[Doc]) -> list[Doc]:
    """The statuses no `hide` filter matched (for timelines; a status asked for by id is kept)."""
    return [d for d in docs if not any(f["filter"]["filter_action"] == "hide" for f in d["filtered"])]


def fedi_json(p: Post, viewer: Account | None) -> Doc:
    """fedi's own fields of a Status: the AI label, how it was made, remix links."""
    own = viewer is not None and viewer.id == p.account_id
    show_prompt = not p.prompt_private or own
    return {
        "ai_generated": p.ai_generated,
        "generation": {
            "model": p.model_name, "model_version": p.model_version,
            "prompt": p.prompt if show_prompt else None,
            "negative_prompt": p.negative_prompt if show_prompt else None,
            "prompt_private": p.prompt_private, "seed": p.seed, "steps": p.steps, "sampler": p.sampler,
            "guidance_scale": p.guidance_scale, "parameters": p.parameters,
        } if p.ai_generated else None,
        "remix_of": p.remix_of_uri, "remix_of_id": str(p.remix_of_id) if p.remix_of_id else None,
        "remix_allowed": p.remix_allowed,
    }


async def status_json(state: State, post: Post, viewer: Account | None) -> Doc:
    return (await statuses_json(state, [post], viewer))[0]


async def notifications_json(state: State, rows: list[Notification], viewer: Account, *,
                             hide_filtered: bool = False) -> list[Doc]:
    """Notifications, their statuses filtered in the `notifications` context; with `hide_filtered`, those
    whose status a hide filter matched are left out."""
    posts = [n.post for n in rows if n.post is not None]
    statuses = {int(d["id"]): d for d in await statuses_json(state, posts, viewer, "notifications")} \
        if posts else {}
    if hide_filtered:
        shown = {int(d["id"]) for d in without_hidden(list(statuses.values()))}
        rows = [n for n in rows if n.post_id is None or n.post_id in shown]
    accounts = await accounts_json(state, [n.from_account for n in rows])
    return [{"id": str(n.id), "type": n.type, "created_at": iso(n.created_at), "account": acc,
             "status": statuses.get(n.post_id) if n.post_id else None, "group_key": f"ungrouped-{n.id}"}
            for n, acc in zip(rows, accounts, strict=True)]


# -- filters (Mastodon filters v2, and the v1 view of their keywords) ------------------------------------

AI_FILTER_ID = "fedi-ai"


def ai_filter_json(account: Account) -> Doc | None:
    """The reader's AI-label setting, as the Mastodon filter apps already know how to apply."""
    if account.ai_filter == "show":
        return None
    return {"id": AI_FILTER_ID, "title": "AI-generated images from other servers", "context": ["home", "public"],
            "expires_at": None, "filter_action": "hide" if account.ai_filter == "hide" else "warn",
            "keywords": [], "statuses": []}


def filter_keyword_json(k: FilterKeyword) -> Doc:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status_json(s: FilterStatus) -> Doc:
    return {"id": str(s.id), "status_id": str(s.post_id)}


def filter_json(f: Filter, keywords: list[FilterKeyword] | None = None,
                statuses: list[FilterStatus] | None = None) -> Doc:
    """A Filter; with its keywords and statuses when given (a FilterResult's filter has neither)."""
    doc: Doc = {"id": str(f.id), "title": f.title, "context": list(f.context or []),
                "expires_at": iso(f.expires_at), "filter_action": f.action}
    if keywords is not None:
        doc["keywords"] = [filter_keyword_json(k) for k in keywords]
    if statuses is not None:
        doc["statuses"] = [filter_status_json(s) for s in statuses]
    return doc


def filter_result_json(m: Match) -> Doc:
    return {"filter": filter_json(m.rule), "keyword_matches": m.keywords or None,
            "status_matches": [str(i) for i in m.statuses] or None}


def filter_v1_json(f: Filter, k: FilterKeyword) -> Doc:
    """A keyword as Mastodon's v1 filter (one phrase per filter)."""
    return {"id": str(k.id), "phrase": k.keyword, "context": list(f.context or []), "whole_word": k.whole_word,
            "expires_at": iso(f.expires_at), "irreversible": f.action == "hide"}
