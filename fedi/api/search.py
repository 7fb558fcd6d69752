"""GET /api/v2/search: accounts by handle (resolved by WebFinger when resolve=true) and statuses by URL.
find_accounts() is the account part, shared with GET /api/v1/accounts/search (compat.py); it and
find_by_url() also answer the web search page (fedi/web/search.py)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response
from tortoise.expressions import Q, Subquery

from fedi.activitystreams import get_id
from fedi.actors import get_actor, host_of, resolve_handle
from fedi.admin import is_blocked
from fedi.api.auth import optional_account
from fedi.api.serializers import accounts_json, statuses_json
from fedi.api.statuses import can_see
from fedi.errors import BadRequest, FediError, RemoteError
from fedi.models import Account, Follow, Post
from fedi.web.common import as_bool, int_param, json_response, params, st
from inbox.notes import is_post, store_note

bp = Blueprint("api_search", __name__)


async def _resolve_url(url: str) -> tuple[list[Account], list[Post]]:
    """A pasted URL: a known post or account, or (resolve) fetched from its server."""
    post = await Post.get_or_none(Q(uri=url) | Q(url=url), deleted_at=None)
    if post is not None:
        return [], [post]
    account = await Account.get_or_none(Q(uri=url) | Q(url=url))
    if account is not None:
        return [account], []
    s = st()
    if await is_blocked(s, host_of(url)):
        return [], []
    try:
        doc = await s.http.get_json(url, signer=s.signer)
    except RemoteError:
        return [], []
    if host_of(get_id(doc) or "") != host_of(url):
        return [], []  # a server may only speak for its own objects
    if is_post(doc):
        author_uri = get_id(doc.get("attributedTo")) or ""
        if host_of(author_uri) != host_of(url):
            return [], []
        author = await get_actor(s, author_uri)
        return [], [await store_note(doc, author)]
    try:
        return [await get_actor(s, doc.get("id", url))], []
    except FediError:
        return [], []


async def find_by_url(url: str, viewer: Account | None, *, resolve: bool) -> tuple[list[Account], list[Post]]:
    """A pasted URL: the post (or, when `resolve`, the account) it names, fetched from its server when
    `resolve` and not known yet; only posts `viewer` may see."""
    if resolve:
        accounts, posts = await _resolve_url(url)
    else:
        accounts, posts = [], list(await Post.filter(Q(uri=url) | Q(url=url), deleted_at=None).limit(1))
    return accounts, [p for p in posts if await can_see(p, viewer)]


async def find_accounts(q: str, *, limit: int, resolve: bool, offset: int = 0,
                        following_of: Account | None = None) -> list[Account]:
    """Accounts for a search: user@host exactly (found by WebFinger when `resolve`), else by part of the
    username or display name, exact usernames first; only those `following_of` follows, when given."""
    query = Account.filter(suspended=False)
    if following_of is not None:
        query = query.filter(id__in=Subquery(Follow.filter(follower_id=following_of.id, accepted=True)
                                             .values("target_id")))
    term = q.strip().lstrip("@")
    user, _, host = term.partition("@")
    if host:
        if resolve and offset == 0:
            try:
                found = await resolve_handle(st(), q)
            except FediError:
                return []
            return [found] if following_of is None or await query.filter(id=found.id).exists() else []
        local = host.lower() == st().cfg.domain
        query = query.filter(username__iexact=user, domain=None if local else host.lower())
    else:
        query = query.filter(Q(username__icontains=term) | Q(display_name__icontains=term),
                             actor_type__in=["Person", "Service", "Group"])
    found_page = list(await query.order_by("id").offset(offset).limit(limit))
    return sorted(found_page, key=lambda a: a.username.lower() != user.lower())


@bp.get("/api/v1/search")
@bp.get("/api/v2/search")
async def search() -> Response:
    viewer = await optional_account()
    args = await params()
    q = str(args.get("q", "")).strip()
    if not q:
        raise BadRequest("q is required")
    kind = args.get("type")
    limit = int_param(args, "limit", 20, 1, 40)
    resolve = as_bool(args.get("resolve", False), "resolve") and viewer is not None
    accounts: list[Account] = []
    posts: list[Post] = []
    if q.startswith(("http://", "https://")):
        accounts, posts = await find_by_url(q, viewer, resolve=resolve)
    elif kind in (None, "accounts"):
        following = viewer if viewer is not None and as_bool(args.get("following", False), "following") else None
        accounts = await find_accounts(q, limit=limit, resolve=resolve, offset=int_param(args, "offset", 0, 0, 10_000),
                                       following_of=following)
    out: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}
    if kind in (None, "accounts"):
        out["accounts"] = await accounts_json(st(), accounts)
    if kind in (None, "statuses"):
        out["statuses"] = await statuses_json(st(), posts, viewer)
    if kind in (None, "hashtags") and q.startswith("#"):
        name = q[1:]
        out["hashtags"] = [{"name": name, "url": st().urls.tag(name), "history": []}]
    return json_response(out)
