"""Filters, as Mastodon 4 serves them: v2 filters with keywords and statuses, the v1 view of keywords,
and the AI-label filter (id `fedi-ai`), which stands for the reader's `fedi_ai_filter` setting.

The AI-label filter can change only its filter_action (warn or blur -> blur, hide -> hide); any other
change answers 422. Deleting it sets the setting to show. It has no keywords or statuses.
Wrong input answers 422 with {"error": ...} and changes nothing; another reader's filters are 404."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from fedi.api.auth import require_account
from fedi.api.filter_params import (
    ABSENT,
    MAX_FILTERS,
    MAX_KEYWORDS,
    action_of,
    boolean,
    context_of,
    expires_of,
    invalid,
    keyword_changes,
    keyword_of,
    nested,
    title_of,
)
from fedi.api.serializers import (
    AI_FILTER_ID,
    ai_filter_json,
    filter_json,
    filter_keyword_json,
    filter_status_json,
    filter_v1_json,
)
from fedi.api.statuses import visible_post
from fedi.db import atomic
from fedi.errors import FediError, NotFound, Unprocessable
from fedi.models import Account, Filter, FilterKeyword, FilterStatus
from fedi.web.common import json_response, params

bp = Blueprint("api_filters", __name__)


async def _me(write: bool = False) -> Account:
    return await require_account("write:filters" if write else "read:filters")


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise NotFound("Record not found")
    return int(value)


async def _own_filter(me: Account, filter_id: str) -> Filter:
    row = await Filter.get_or_none(id=_id(filter_id), account_id=me.id)
    if row is None:
        raise NotFound("Record not found")
    return row


async def _own_keyword(me: Account, keyword_id: str) -> FilterKeyword:
    row = await FilterKeyword.get_or_none(id=_id(keyword_id), custom_filter__account_id=me.id).select_related(
        "custom_filter")
    if row is None:
        raise NotFound("Record not found")
    return row


async def _full_json(row: Filter) -> dict[str, Any]:
    return filter_json(row, list(await FilterKeyword.filter(custom_filter_id=row.id).order_by("id")),
                       list(await FilterStatus.filter(custom_filter_id=row.id).order_by("id")))


async def _apply_keywords(row: Filter, changes: list[dict[str, Any]], destroy: set[int]) -> None:
    if destroy:
        await FilterKeyword.filter(custom_filter_id=row.id, id__in=destroy).delete()
    for c in changes:
        if c["id"] is None:
            await FilterKeyword.create(custom_filter=row, keyword=c["keyword"], whole_word=c["whole_word"])
        else:
            await FilterKeyword.filter(id=c["id"]).update(keyword=c["keyword"], whole_word=c["whole_word"])


# -- the AI-label filter ----------------------------------------------------------------------------------

def _ai_or_404(me: Account) -> dict[str, Any]:
    doc = ai_filter_json(me)
    if doc is None:
        raise NotFound("Record not found")
    return doc


async def _update_ai(me: Account, args: dict[str, Any]) -> dict[str, Any]:
    doc = _ai_or_404(me)
    fixed = ("The AI-label filter stands for your AI-image setting: only its filter_action "
             "(warn, blur or hide) can change")
    context = context_of(args, False)
    if title_of(args, doc["title"]) != doc["title"] or (context is not ABSENT and set(context) != set(doc["context"])) \
            or expires_of(args) not in (ABSENT, None) or await nested(args, "keywords_attributes"):
        raise Unprocessable(fixed)
    action = action_of(args, doc["filter_action"])
    me.ai_filter = "hide" if action == "hide" else "blur"
    await me.save(update_fields=["ai_filter"])
    return _ai_or_404(me)


# -- v2 ------------------------------------------------------------------------------------------------------

@bp.get("/api/v2/filters")
async def list_filters() -> Response:
    me = await _me()
    rows = list(await Filter.filter(account_id=me.id).order_by("id"))
    keywords = await FilterKeyword.filter(custom_filter_id__in=[r.id for r in rows]).order_by("id")
    statuses = await FilterStatus.filter(custom_filter_id__in=[r.id for r in rows]).order_by("id")
    docs = [filter_json(r, [k for k in keywords if k.custom_filter_id == r.id],
                        [s for s in statuses if s.custom_filter_id == r.id]) for r in rows]
    ai = ai_filter_json(me)
    return json_response(([ai] if ai else []) + docs)


async def new_filter(me: Account, args: dict[str, Any]) -> Filter:
    """A new filter of `me` from POST /api/v2/filters' parameters (also the settings page's form): every
    field is checked first (422, nothing written), then the filter and its keywords in one transaction."""
    title, context, action = title_of(args, ""), context_of(args, True), action_of(args, "warn")
    expires = expires_of(args)
    changes, _ = await keyword_changes(args, None)
    if await Filter.filter(account_id=me.id).count() >= MAX_FILTERS:
        raise invalid(f"You can have at most {MAX_FILTERS} filters")

    async def work() -> Filter:
        row = await Filter.create(account=me, title=title, context=context, action=action,
                                  expires_at=None if expires is ABSENT else expires)
        await _apply_keywords(row, changes, set())
        return row

    return await atomic(work)


@bp.post("/api/v2/filters")
async def create_filter() -> Response:
    me = await _me(write=True)
    return json_response(await _full_json(await new_filter(me, await params())))


@bp.get("/api/v2/filters/<filter_id>")
async def get_filter(filter_id: str) -> Response:
    me = await _me()
    if filter_id == AI_FILTER_ID:
        return json_response(_ai_or_404(me))
    return json_response(await _full_json(await _own_filter(me, filter_id)))


@bp.put("/api/v2/filters/<filter_id>")
async def update_filter(filter_id: str) -> Response:
    me = await _me(write=True)
    args = await params()
    if filter_id == AI_FILTER_ID:
        return json_response(await _update_ai(me, args))
    row = await _own_filter(me, filter_id)
    fields = {"title": title_of(args), "context": context_of(args, False), "action": action_of(args),
              "expires_at": expires_of(args)}
    changes, destroy = await keyword_changes(args, row)

    async def work() -> None:
        for name, value in fields.items():
            if value is not ABSENT:
                setattr(row, name, value)
        await row.save()
        await _apply_keywords(row, changes, destroy)

    await atomic(work)
    return json_response(await _full_json(row))


@bp.delete("/api/v2/filters/<filter_id>")
async def delete_filter(filter_id: str) -> Response:
    me = await _me(write=True)
    if filter_id == AI_FILTER_ID:
        _ai_or_404(me)
        me.ai_filter = "show"
        await me.save(update_fields=["ai_filter"])
        return json_response({})
    await (await _own_filter(me, filter_id)).delete()
    return json_response({})


@bp.get("/api/v2/filters/<filter_id>/keywords")
async def list_keywords(filter_id: str) -> Response:
    me = await _me()
    if filter_id == AI_FILTER_ID:
        _ai_or_404(me)
        return json_response([])
    row = await _own_filter(me, filter_id)
    return json_response([filter_keyword_json(k) for k in await FilterKeyword.filter(custom_filter=row).order_by("id")])


@bp.post("/api/v2/filters/<filter_id>/keywords")
async def add_keyword(filter_id: str) -> Response:
    me = await _me(write=True)
    if filter_id == AI_FILTER_ID:
        _ai_or_404(me)
        raise Unprocessable("The AI-label filter has no keywords: make a filter of your own")
    row = await _own_filter(me, filter_id)
    args = await params()
    keyword, whole_word = keyword_of(args.get("keyword")), boolean(args.get("whole_word", True), "whole_word")
    if await FilterKeyword.filter(custom_filter=row).count() >= MAX_KEYWORDS:
        raise invalid(f"A filter has at most {MAX_KEYWORDS} keywords")
    return json_response(filter_keyword_json(await FilterKeyword.create(custom_filter=row, keyword=keyword,
                                                                        whole_word=whole_word)))


@bp.get("/api/v2/filters/keywords/<keyword_id>")
@bp.get("/api/v2/filter_keywords/<keyword_id>")
async def get_keyword(keyword_id: str) -> Response:
    return json_response(filter_keyword_json(await _own_keyword(await _me(), keyword_id)))


@bp.put("/api/v2/filters/keywords/<keyword_id>")
@bp.put("/api/v2/filter_keywords/<keyword_id>")
async def update_keyword(keyword_id: str) -> Response:
    row = await _own_keyword(await _me(write=True), keyword_id)
    args = await params()
    row.keyword = keyword_of(args.get("keyword", row.keyword))
    row.whole_word = boolean(args.get("whole_word", row.whole_word), "whole_word")
    await row.save()
    return json_response(filter_keyword_json(row))


@bp.delete("/api/v2/filters/keywords/<keyword_id>")
@bp.delete("/api/v2/filter_keywords/<keyword_id>")
async def delete_keyword(keyword_id: str) -> Response:
    await (await _own_keyword(await _me(write=True), keyword_id)).delete()
    return json_response({})


@bp.get("/api/v2/filters/<filter_id>/statuses")
async def list_statuses(filter_id: str) -> Response:
    me = await _me()
    if filter_id == AI_FILTER_ID:
        _ai_or_404(me)
        return json_response([])
    row = await _own_filter(me, filter_id)
    return json_response([filter_status_json(s) for s in await FilterStatus.filter(custom_filter=row).order_by("id")])


@bp.post("/api/v2/filters/<filter_id>/statuses")
async def add_status(filter_id: str) -> Response:
    me = await _me(write=True)
    if filter_id == AI_FILTER_ID:
        _ai_or_404(me)
        raise Unprocessable("The AI-label filter has no statuses: make a filter of your own")
    row = await _own_filter(me, filter_id)
    status_id = str((await params()).get("status_id") or "")
    try:
        post = await visible_post(status_id, me)
    except FediError as exc:
        raise invalid("Status must exist") from exc
    if await FilterStatus.exists(custom_filter=row, post_id=post.id):
        raise invalid("Status has already been taken")
    return json_response(filter_status_json(await FilterStatus.create(custom_filter=row, post_id=post.id)))


async def _own_status(me: Account, status_filter_id: str) -> FilterStatus:
    row = await FilterStatus.get_or_none(id=_id(status_filter_id), custom_filter__account_id=me.id)
    if row is None:
        raise NotFound("Record not found")
    return row


@bp.get("/api/v2/filters/statuses/<status_filter_id>")
@bp.get("/api/v2/filter_statuses/<status_filter_id>")
async def get_status_filter(status_filter_id: str) -> Response:
    return json_response(filter_status_json(await _own_status(await _me(), status_filter_id)))


@bp.delete("/api/v2/filters/statuses/<status_filter_id>")
@bp.delete("/api/v2/filter_statuses/<status_filter_id>")
async def delete_status_filter(status_filter_id: str) -> Response:
    await (await _own_status(await _me(write=True), status_filter_id)).delete()
    return json_response({})


# -- v1: one keyword is one filter --------------------------------------------------------------------------

@bp.get("/api/v1/filters")
async def list_v1() -> Response:
    me = await _me()
    rows = await FilterKeyword.filter(custom_filter__account_id=me.id).select_related("custom_filter").order_by("id")
    return json_response([filter_v1_json(k.custom_filter, k) for k in rows])


@bp.get("/api/v1/filters/<keyword_id>")
async def get_v1(keyword_id: str) -> Response:
    row = await _own_keyword(await _me(), keyword_id)
    return json_response(filter_v1_json(row.custom_filter, row))


@bp.post("/api/v1/filters")
async def create_v1() -> Response:
    me = await _me(write=True)
    args = await params()
    phrase, context = keyword_of(args.get("phrase")), context_of(args, True)
    action = "hide" if boolean(args.get("irreversible", False), "irreversible") else "warn"
    whole_word, expires = boolean(args.get("whole_word", True), "whole_word"), expires_of(args)
    if await Filter.filter(account_id=me.id).count() >= MAX_FILTERS:
        raise invalid(f"You can have at most {MAX_FILTERS} filters")

    async def work() -> tuple[Filter, FilterKeyword]:
        row = await Filter.create(account=me, title=phrase[:255], context=context, action=action,
                                  expires_at=None if expires is ABSENT else expires)
        return row, await FilterKeyword.create(custom_filter=row, keyword=phrase, whole_word=whole_word)

    return json_response(filter_v1_json(*await atomic(work)))


@bp.put("/api/v1/filters/<keyword_id>")
async def update_v1(keyword_id: str) -> Response:
    row = await _own_keyword(await _me(write=True), keyword_id)
    parent = row.custom_filter
    args = await params()
    row.keyword = keyword_of(args.get("phrase", row.keyword))
    row.whole_word = boolean(args.get("whole_word", row.whole_word), "whole_word")
    context, expires = context_of(args, False), expires_of(args)
    irreversible = boolean(args["irreversible"], "irreversible") if "irreversible" in args else None
    if (context is not ABSENT or expires is not ABSENT or irreversible is not None) \
            and await FilterKeyword.filter(custom_filter_id=parent.id).count() > 1:
        raise Unprocessable("This filter has several keywords: change its context, expiry or action in the "
                            "v2 API (/api/v2/filters)")

    async def work() -> None:
        await row.save()
        parent.context = parent.context if context is ABSENT else context
        parent.expires_at = parent.expires_at if expires is ABSENT else expires
        if irreversible is not None:
            parent.action = "hide" if irreversible else "warn"
        await parent.save()

    await atomic(work)
    return json_response(filter_v1_json(parent, row))


@bp.delete("/api/v1/filters/<keyword_id>")
async def delete_v1(keyword_id: str) -> Response:
    row = await _own_keyword(await _me(write=True), keyword_id)

    async def work() -> None:
        await row.delete()
        if not await FilterKeyword.exists(custom_filter_id=row.custom_filter_id) and not await FilterStatus.exists(
                custom_filter_id=row.custom_filter_id):
            await Filter.filter(id=row.custom_filter_id).delete()

    await atomic(work)
    return json_response({})
