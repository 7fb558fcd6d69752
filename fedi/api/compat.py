"""The rest of what Mastodon apps (Ivory, Tusky, Elk, Phanpy, Mona, the official apps) call on start-up
and on common screens: favourites, account search, familiar followers, direct conversations, a hashtag,
the instance's peers, weekly activity and rules; and, where fedi has no such feature, the empty answers
GoToSocial and Pixelfed give (lists, announcements, followed and featured tags, endorsements,
suggestions, scheduled posts, a user's own domain blocks, trending links) instead of a 404 that some
apps treat as a broken server. Grouped notifications and their neighbours are in grouped.py."""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from quart import Blueprint, Response
from tortoise.expressions import Q, Subquery

from fedi.admin import blocked_by, blocked_domains
from fedi.api.accounts import account_or_404
from fedi.api.auth import require_account
from fedi.api.paging import page, paged_response
from fedi.api.search import find_accounts
from fedi.api.serializers import accounts_json, iso, statuses_json
from fedi.errors import NotFound
from fedi.models import Account, Follow, Like, Post, Token
from fedi.web.common import as_bool, int_param, json_response, params, st

bp = Blueprint("api_compat", __name__)
TAG_NAME = re.compile(r"\w{1,100}")
DIRECT_SCAN = 1000      # conversations are found among the instance's latest direct posts
WEEKS = 12


@bp.get("/api/v1/favourites")
async def favourites() -> Response:
    """The user's favourited statuses, the latest like first, paginated by the like's id (as Mastodon)."""
    me = await require_account()
    rows = await page(Like.filter(account=me, post__deleted_at=None).select_related("post"), await params())
    return paged_response(await statuses_json(st(), [r.post for r in rows], me), [r.id for r in rows])


@bp.get("/api/v1/accounts/search")
async def account_search() -> Response:
    me = await require_account()
    args = await params()
    q = str(args.get("q", "")).strip()
    if not q:
        return json_response([])
    following = as_bool(args.get("following", False), "following")
    found = await find_accounts(q, limit=int_param(args, "limit", 40, 1, 80),
                                resolve=as_bool(args.get("resolve", False), "resolve"),
                                offset=int_param(args, "offset", 0, 0, 10_000), following_of=me if following else None)
    return json_response(await accounts_json(st(), found))


@bp.get("/api/v1/accounts/familiar_followers")
async def familiar_followers() -> Response:
    """For each account asked about, the accounts the user follows that follow it too."""
    me = await require_account()
    raw = (await params()).get("id", [])
    ids = list(dict.fromkeys(int(i) for i in (raw if isinstance(raw, list) else [raw]) if str(i).isdigit()))[:40]
    mine = Subquery(Follow.filter(follower_id=me.id, accepted=True).values("target_id"))
    pairs = await Follow.filter(target_id__in=ids or [0], accepted=True, follower_id__in=mine).values_list(
        "target_id", "follower_id")
    people = {a.id: a for a in await Account.filter(id__in={f for _, f in pairs} or [0], suspended=False)}
    docs = {int(d["id"]): d for d in await accounts_json(st(), list(people.values()))}
    known: dict[int, list[int]] = defaultdict(list)
    for target, follower in sorted(pairs):
        if follower in docs and follower != me.id:
            known[target].append(follower)
    return json_response([{"id": str(i), "accounts": [docs[f] for f in known[i]]} for i in ids])


# -- features fedi does not have: valid, empty answers -----------------------------------------------------

@bp.get("/api/v1/lists")                    # Ivory on launch, Tusky, Phanpy, the official apps
@bp.get("/api/v1/announcements")            # Tusky, Phanpy (notifications page)
@bp.get("/api/v1/followed_tags")            # Phanpy, Tusky, the official apps
@bp.get("/api/v1/featured_tags")            # Phanpy (hashtag page)
@bp.get("/api/v1/endorsements")
@bp.get("/api/v1/suggestions")
@bp.get("/api/v2/suggestions")              # Elk (explore), the official apps
@bp.get("/api/v1/domain_blocks")            # Tusky, the official iOS app: no per-user domain blocks
@bp.get("/api/v1/scheduled_statuses")       # Tusky, Phanpy
async def empty_list() -> Response:
    await require_account()
    return json_response([])


@bp.get("/api/v1/accounts/<account_id>/lists")
async def account_lists(account_id: str) -> Response:
    await require_account()
    await account_or_404(account_id)
    return json_response([])


@bp.get("/api/v1/accounts/<account_id>/featured_tags")   # Phanpy, Elk and the official apps, on a profile
@bp.get("/api/v1/accounts/<account_id>/endorsements")
async def account_empty_list(account_id: str) -> Response:
    await account_or_404(account_id)
    return json_response([])


@bp.get("/api/v1/trends/links")             # Elk (explore: news), Phanpy (trending)
async def trending_links() -> Response:
    return json_response([])


# -- the instance -----------------------------------------------------------------------------------------

@bp.get("/api/v1/instance/peers")
async def peers() -> Response:
    """The domains of the remote accounts fedi knows, less the blocked ones."""
    blocked = await blocked_domains(st())
    known = set(cast(list[str], await Account.filter(domain__not_isnull=True).distinct()
                     .values_list("domain", flat=True)))
    return json_response(sorted(d for d in known if d and not blocked_by(d, blocked)))


def _week_of(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


@bp.get("/api/v1/instance/activity")
async def activity() -> Response:
    """Local statuses, logins (users who signed in or used a token) and registrations per week, the current
    week (from Monday, UTC) first, over 12 weeks."""
    weeks = [_week_of(datetime.now(UTC)) - timedelta(weeks=i) for i in range(WEEKS)]
    since = weeks[-1]
    statuses = Counter(_week_of(t) for t in cast(list[datetime], await Post.filter(
        local=True, reblog_of=None, published__gte=since).values_list("published", flat=True)))
    registrations = Counter(_week_of(t) for t in cast(list[datetime], await Account.filter(
        domain=None, actor_type="Person", created_at__gte=since).values_list("created_at", flat=True)))
    logins: dict[datetime, set[int]] = defaultdict(set)
    for account_id, created, used in await Token.filter(
            Q(created_at__gte=since) | Q(last_used_at__gte=since), account_id__not_isnull=True).values_list(
            "account_id", "created_at", "last_used_at"):
        for moment in (created, used):
            if moment is not None and moment >= since:
                logins[_week_of(moment)].add(account_id)
    return json_response([{"week": str(int(w.timestamp())), "statuses": str(statuses[w]),
                           "logins": str(len(logins[w])), "registrations": str(registrations[w])} for w in weeks])


@bp.get("/api/v1/instance/rules")
async def rules() -> Response:
    return json_response([])    # fedi.toml has no rules to list


@bp.get("/api/v1/instance/extended_description")   # the official apps' "about this server"
async def extended_description() -> Response:
    s = st()
    since = s.instance_actor.created_at if s.instance_actor is not None else None
    title = html.escape(s.cfg.instance_title)
    return json_response({"updated_at": iso(since),
                          "content": f"<p>{title}: a fedi instance. AI-generated images, federated.</p>"})


@bp.get("/api/v1/instance/translation_languages")  # the official iOS app
async def translation_languages() -> Response:
    return json_response({})


# -- hashtags ---------------------------------------------------------------------------------------------

@bp.get("/api/v1/tags/<name>")              # Tusky and Phanpy, on a hashtag's timeline
async def tag(name: str) -> Response:
    """A hashtag with its use by public posts over the last 7 days; fedi has no followed hashtags."""
    name = name.lstrip("#")
    if not TAG_NAME.fullmatch(name):
        raise NotFound("Record not found")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    uses: Counter[datetime] = Counter()
    people: dict[datetime, set[int]] = defaultdict(set)
    for tags, account_id, published in await Post.filter(
            published__gte=today - timedelta(days=6), deleted_at=None, visibility="public").values_list(
            "tags", "account_id", "published"):
        if any(str(t.get("name", "")).lstrip("#").lower() == name.lower() for t in tags or []):
            day = published.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            uses[day] += 1
            people[day].add(account_id)
    days = [today - timedelta(days=i) for i in range(7)]
    return json_response({"name": name, "url": st().urls.tag(name), "following": False,
                          "history": [{"day": str(int(d.timestamp())), "uses": str(uses[d]),
                                       "accounts": str(len(people[d]))} for d in days]})


# -- direct conversations ---------------------------------------------------------------------------------

async def _threads(me: Account) -> dict[int, list[dict[str, Any]]]:
    """The user's direct posts (written by or addressed to them), by the root of their thread; found among
    the instance's latest DIRECT_SCAN direct posts."""
    rows = [r for r in await Post.filter(visibility="direct", deleted_at=None).order_by("-id").limit(
        DIRECT_SCAN).values("id", "account_id", "in_reply_to_id", "to", "cc")
        if r["account_id"] == me.id or me.uri in (r["to"] or []) or me.uri in (r["cc"] or [])]
    parent = {r["id"]: r["in_reply_to_id"] for r in rows}
    for _ in range(20):
        missing = {p for p in parent.values() if p is not None and p not in parent}
        if not missing:
            break
        parent.update(dict(await Post.filter(id__in=missing).values_list("id", "in_reply_to_id")))

    def root(ident: int) -> int:
        seen = {ident}
        while (up := parent.get(ident)) is not None and up in parent and up not in seen:
            ident = up
            seen.add(ident)
        return ident

    threads: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        threads[root(r["id"])].append(r)      # newest first, as rows are
    return threads


async def _conversations_json(me: Account, chosen: list[tuple[int, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    last = {p.id: p for p in await Post.filter(id__in=[rows[0]["id"] for _, rows in chosen] or [0])}
    statuses = {int(d["id"]): d for d in await statuses_json(st(), list(last.values()), me)}
    uris = {u for _, rows in chosen for r in rows for u in [*(r["to"] or []), *(r["cc"] or [])]}
    authors = {r["account_id"] for _, rows in chosen for r in rows}
    people = await Account.filter(Q(id__in=authors or [0]) | Q(uri__in=uris or [""]))
    docs = {a.id: d for a, d in zip(people, await accounts_json(st(), people), strict=True)}
    by_uri = {a.uri: a.id for a in people}
    out = []
    for ident, rows in chosen:
        ids = {r["account_id"] for r in rows} | {by_uri[u] for r in rows
                                                 for u in [*(r["to"] or []), *(r["cc"] or [])] if u in by_uri}
        others = sorted(ids - {me.id}) or [me.id]
        out.append({"id": str(ident), "unread": False, "accounts": [docs[i] for i in others if i in docs],
                    "last_status": statuses.get(rows[0]["id"])})
    return out


@bp.get("/api/v1/conversations")            # Tusky, Phanpy, Elk, the official apps
async def conversations() -> Response:
    """Direct-message threads, the one with the latest post first; paginated by that post's id."""
    me = await require_account()
    args = await params()
    limit = int_param(args, "limit", 20, 1, 40)
    chosen = sorted((await _threads(me)).items(), key=lambda t: t[1][0]["id"], reverse=True)
    bounds = {k: int(args[k]) for k in ("max_id", "since_id", "min_id") if str(args.get(k) or "").isdigit()}
    chosen = [t for t in chosen if t[1][0]["id"] < bounds.get("max_id", 2**63)
              and t[1][0]["id"] > max(bounds.get("since_id", 0), bounds.get("min_id", 0))]
    chosen = chosen[-limit:] if "min_id" in bounds else chosen[:limit]
    return paged_response(await _conversations_json(me, chosen), [rows[0]["id"] for _, rows in chosen])


@bp.post("/api/v1/conversations/<conversation_id>/read")
async def read_conversation(conversation_id: str) -> Response:
    """fedi keeps no unread state: a conversation is always read."""
    me = await require_account()
    threads = await _threads(me)
    ident = int(conversation_id) if conversation_id.isdigit() else 0
    if ident not in threads:
        raise NotFound("Record not found")
    return json_response((await _conversations_json(me, [(ident, threads[ident])]))[0])
