"""Mastodon-style pagination: max_id, since_id, min_id, limit and a Link header."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Response, request
from tortoise.queryset import QuerySet

from fedi.errors import BadRequest
from fedi.web.common import int_param, json_response, st


def _id(args: dict[str, Any], name: str) -> int | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be an id") from exc


async def page(query: QuerySet[Any], args: dict[str, Any], *, default: int = 20, maximum: int = 40,
               field: str = "id") -> list[Any]:
    limit = int_param(args, "limit", default, 1, maximum)
    max_id, since_id, min_id = _id(args, "max_id"), _id(args, "since_id"), _id(args, "min_id")
    if max_id is not None:
        query = query.filter(**{f"{field}__lt": max_id})
    if since_id is not None:
        query = query.filter(**{f"{field}__gt": since_id})
    if min_id is not None:
        rows = await query.filter(**{f"{field}__gt": min_id}).order_by(field).limit(limit)
        return list(reversed(rows))
    return list(await query.order_by(f"-{field}").limit(limit))


def paged_response(docs: list[Any], ids: list[int]) -> Response:
    resp = json_response(docs)
    if ids:
        base = st().urls.base + request.path
        keep = {k: v for k, v in request.args.items() if k not in ("max_id", "since_id", "min_id")}
        nxt = f"{base}?{urlencode({**keep, 'max_id': min(ids)})}"
        prev = f"{base}?{urlencode({**keep, 'min_id': max(ids)})}"
        resp.headers["Link"] = f'<{nxt}>; rel="next", <{prev}>; rel="prev"'
    return resp
