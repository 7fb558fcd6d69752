"""Grouped notifications (Mastodon 4.3's /api/v2/notifications), the unread count, and the notification
policy and requests. /api/v2/instance says api_versions.mastodon 2, and the official Android app then
reads notifications only from /api/v2/notifications; Phanpy asks for the policy of a 4.3 server.

fedi does not group: every notification is its own group, keyed "ungrouped-<id>" as Mastodon keys the
notifications it does not group (clients pass grouped_types; grouping stays the server's choice). fedi
filters nothing into requests, so the policy accepts everything and there are no requests."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from fedi.api.auth import require_account
from fedi.api.paging import page, paged_response
from fedi.api.serializers import notifications_json
from fedi.errors import NotFound
from fedi.models import Account, Marker, Notification
from fedi.web.common import int_param, json_response, params, st

bp = Blueprint("api_grouped", __name__)
NO_REQUESTS = {"pending_requests_count": 0, "pending_notifications_count": 0}


def _list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _query(me: Account, args: dict[str, Any]) -> Any:
    query = Notification.filter(account=me)
    if types := _list(args.get("types")):
        query = query.filter(type__in=types)
    if exclude := _list(args.get("exclude_types")):
        query = query.exclude(type__in=exclude)
    if str(args.get("account_id") or "").isdigit():
        query = query.filter(from_account_id=int(args["account_id"]))
    return query


def grouped_json(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mastodon Notification entities -> GroupedNotificationsResults, one group per notification."""
    accounts: dict[str, Any] = {}
    statuses: dict[str, Any] = {}
    groups = []
    for d in docs:
        accounts.setdefault(d["account"]["id"], d["account"])
        if d["status"] is not None:
            statuses.setdefault(d["status"]["id"], d["status"])
        groups.append({"group_key": d["group_key"], "notifications_count": 1, "type": d["type"],
                       "most_recent_notification_id": d["id"], "page_min_id": d["id"], "page_max_id": d["id"],
                       "latest_page_notification_at": d["created_at"], "sample_account_ids": [d["account"]["id"]],
                       "status_id": d["status"]["id"] if d["status"] is not None else None})
    return {"accounts": list(accounts.values()), "statuses": list(statuses.values()), "notification_groups": groups}


@bp.get("/api/v2/notifications")
async def grouped() -> Response:
    me = await require_account()
    args = await params()
    rows = await page(_query(me, args).select_related("from_account", "post"), args, default=40, maximum=80)
    docs = await notifications_json(st(), rows, me, hide_filtered=True)
    return paged_response(grouped_json(docs), [n.id for n in rows])  # type: ignore[arg-type]


async def _group(group_key: str, me: Account) -> Notification:
    prefix, _, ident = group_key.partition("-")
    row = await Notification.get_or_none(id=int(ident), account=me).select_related("from_account", "post") \
        if prefix == "ungrouped" and ident.isdigit() else None
    if row is None:
        raise NotFound("Record not found")
    return row


@bp.get("/api/v2/notifications/<group_key>")
async def one_group(group_key: str) -> Response:
    me = await require_account()
    return json_response(grouped_json(await notifications_json(st(), [await _group(group_key, me)], me)))


@bp.get("/api/v2/notifications/<group_key>/accounts")
async def group_accounts(group_key: str) -> Response:
    me = await require_account()
    docs = await notifications_json(st(), [await _group(group_key, me)], me)
    return json_response([d["account"] for d in docs])


@bp.post("/api/v2/notifications/<group_key>/dismiss")
async def dismiss_group(group_key: str) -> Response:
    me = await require_account()
    await (await _group(group_key, me)).delete()
    return json_response({})


@bp.get("/api/v1/notifications/unread_count")
@bp.get("/api/v2/notifications/unread_count")
async def unread_count() -> Response:
    """Notifications newer than the user's notifications marker (all of them without one), up to limit."""
    me = await require_account()
    args = await params()
    limit = int_param(args, "limit", 100, 1, 1000)
    marker = await Marker.get_or_none(account=me, timeline="notifications")
    query = _query(me, args)
    if marker is not None and marker.last_read_id.isdigit():
        query = query.filter(id__gt=int(marker.last_read_id))
    return json_response({"count": len(await query.limit(limit).values_list("id", flat=True))})


@bp.get("/api/v2/notifications/policy")
async def policy() -> Response:
    await require_account()
    return json_response({"for_not_following": "accept", "for_not_followers": "accept",
                          "for_new_accounts": "accept", "for_private_mentions": "accept",
                          "for_limited_accounts": "accept", "summary": NO_REQUESTS})


@bp.get("/api/v1/notifications/policy")
async def policy_v1() -> Response:
    await require_account()
    return json_response({"filter_not_following": False, "filter_not_followers": False,
                          "filter_new_accounts": False, "filter_private_mentions": False, "summary": NO_REQUESTS})


@bp.get("/api/v1/notifications/requests")
async def requests() -> Response:
    await require_account()
    return json_response([])
