"""Notifications: list (with types filter), get, dismiss, clear."""

from __future__ import annotations

from quart import Blueprint, Response

from fedi.api.auth import require_account
from fedi.api.paging import page, paged_response
from fedi.api.serializers import notifications_json
from fedi.errors import NotFound
from fedi.models import Notification
from fedi.web.common import json_response, params, st

bp = Blueprint("api_notifications", __name__)


def _list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@bp.get("/api/v1/notifications")
async def notifications() -> Response:
    me = await require_account()
    args = await params()
    query = Notification.filter(account=me)
    if types := _list(args.get("types")):
        query = query.filter(type__in=types)
    if exclude := _list(args.get("exclude_types")):
        query = query.exclude(type__in=exclude)
    rows = await page(query.select_related("from_account", "post"), args, default=15, maximum=30)
    return paged_response(await notifications_json(st(), rows, me, hide_filtered=True), [n.id for n in rows])


@bp.get("/api/v1/notifications/<notification_id>")
async def one(notification_id: str) -> Response:
    me = await require_account()
    row = await Notification.get_or_none(id=int(notification_id) if notification_id.isdigit() else 0,
                                         account=me).select_related("from_account", "post")
    if row is None:
        raise NotFound("Record not found")
    return json_response((await notifications_json(st(), [row], me))[0])


@bp.post("/api/v1/notifications/clear")
async def clear() -> Response:
    me = await require_account()
    await Notification.filter(account=me).delete()
    return json_response({})


@bp.post("/api/v1/notifications/<notification_id>/dismiss")
async def dismiss(notification_id: str) -> Response:
    me = await require_account()
    await Notification.filter(id=int(notification_id) if notification_id.isdigit() else 0, account=me).delete()
    return json_response({})
