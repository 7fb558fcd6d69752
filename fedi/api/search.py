"""GET /api/v2/search: accounts by handle (resolved by WebFinger when resolve=true) and statuses by URL."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response
from tortoise.expressions import Q

from fedi.activitystreams import get_id
from fedi.actors import get_actor, host_of, resolve_handle
from fedi.admin import is_blocked
from fedi.api.auth import optional_account
from fedi.api.serializers import accounts_json, statuses_json
from fedi.errors import BadRequest, FediError, RemoteError
from fedi.models import Account, Post
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
        if resolve:
            accounts, posts = await _resolve_url(q)
        else:
            posts = list(await Post.filter(Q(uri=q) | Q(url=q), deleted_at=None).limit(1))
    elif "@" in q.lstrip("@") and kind in (None, "accounts"):
        user, _, host = q.lstrip("@").partition("@")
        if resolve:
            try:
                accounts = [await resolve_handle(st(), q)]
            except FediError:
                accounts = []
        else:
            local = host.lower() == st().cfg.domain
            accounts = list(await Account.filter(username__iexact=user, domain=None if local else host.lower(),
                                                 suspended=False).limit(limit))
    elif kind in (None, "accounts"):
        term = q.lstrip("@")
        accounts = list(await Account.filter(Q(username__icontains=term) | Q(display_name__icontains=term),
                                             suspended=False, actor_type__in=["Person", "Service", "Group"])
                        .limit(limit))
    out: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}
    if kind in (None, "accounts"):
        out["accounts"] = await accounts_json(st(), accounts)
    if kind in (None, "statuses"):
        out["statuses"] = await statuses_json(st(), posts, viewer)
    if kind in (None, "hashtags") and q.startswith("#"):
        name = q[1:]
        out["hashtags"] = [{"name": name, "url": st().urls.tag(name), "history": []}]
    return json_response(out)
