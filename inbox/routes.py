"""POST /users/<name>/inbox and /inbox: verify, validate, then apply (or queue) durably before 202."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from quart import Blueprint, Response, request
from tortoise.exceptions import IntegrityError

from fedi.activitystreams import get_id
from fedi.actors import host_of
from fedi.admin import is_blocked
from fedi.db import atomic
from fedi.errors import BadRequest, Forbidden, NotFound, TooLarge
from fedi.models import Account, InboxItem
from fedi.web.common import json_response, st
from inbox.handlers import HANDLERS, Ctx, NeedsFetch
from inbox.verify import Ignore, verify_request
from schemas import SchemaError, known_inbound, validate

log = logging.getLogger("fedi.inbox")
bp = Blueprint("inbox", __name__)
MAX_BODY = 1_000_000
SAME_ORIGIN = {"Create", "Update", "Delete"}
# GoToSocial sends Delete without an id, and older servers Undo/Accept/Reject without one: such an
# activity is known by its actor and the hash of its body, so a replay is still a no-op.
ID_OPTIONAL = {"Delete", "Undo", "Accept", "Reject", "Add", "Remove"}
# Mastodon's Add/Remove (pin, unpin) have no id and the same body every time a post is pinned again:
# their hash also covers the signed Date header, so only a replay of the same request is a no-op.
DATED = {"Add", "Remove"}


def accepted() -> Response:
    return Response("", status=202)


async def _body() -> bytes:
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise TooLarge("the body is larger than 1 MB")
    body = await request.get_data(cache=False)
    if len(body) > MAX_BODY:
        raise TooLarge("the body is larger than 1 MB")
    return body  # type: ignore[return-value]


def _parse(body: bytes, date: str = "") -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise BadRequest("the body is not a JSON object")
    if not isinstance(doc.get("type"), str):
        raise BadRequest("an activity needs a type")
    actor = get_id(doc.get("actor"))
    if not actor:
        raise BadRequest("an activity needs an actor")
    if "id" not in doc and doc["type"] in ID_OPTIONAL:
        salt = date.encode() if doc["type"] in DATED else b""
        doc["id"] = f"{actor}#fedi-body-{hashlib.sha256(body + salt).hexdigest()}"
    if not isinstance(doc.get("id"), str):
        raise BadRequest("an activity needs a string id")
    return doc


def _check_origin(doc: dict[str, Any], actor_uri: str) -> None:
    if host_of(doc["id"]) != host_of(actor_uri):
        raise Forbidden("the activity's id is not on its actor's host")
    if doc["type"] in SAME_ORIGIN:
        obj_id = get_id(doc.get("object"))
        if obj_id and host_of(obj_id) != host_of(actor_uri):
            raise Forbidden("the object does not belong to the actor's host")
        if isinstance(doc.get("object"), dict):
            owner = get_id(doc["object"].get("attributedTo"))
            if owner and doc["type"] != "Delete" and owner != actor_uri:
                raise Forbidden("the object is attributed to someone else")


@bp.post("/users/<name>/inbox")
async def user_inbox(name: str) -> Response:
    local = await st().local_account(name)
    if local is None or local.actor_type != "Person" or local.suspended:
        raise NotFound(f"no such user: {name}")
    return await receive()


@bp.post("/inbox")
async def shared_inbox() -> Response:
    return await receive()


@bp.post("/actor/inbox")
async def instance_inbox() -> Response:
    return await receive()


def _target() -> str:
    """The path and query as sent, for the (request-target) pseudo-header."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else request.path
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


async def _refuse_blocked(s: Any, doc: dict[str, Any]) -> None:
    """403 for a blocked server, by the actor's host, before any key fetch.

    The signing key's host needs no check of its own: verify_request refuses (403, before fetching
    anything) a key on another host than the actor's."""
    if await is_blocked(s, host_of(get_id(doc.get("actor")) or "")):
        raise Forbidden("this server does not accept activities from your server")


async def receive() -> Response:
    s = st()
    body = await _body()
    doc = _parse(body, request.headers.get("Date", ""))
    await _refuse_blocked(s, doc)
    try:
        key = await verify_request(s, request.method, _target(), request.headers, body, doc)
    except Ignore:
        return accepted()
    kind = doc["type"]
    handler = HANDLERS.get(kind)
    if handler is None:
        log.info("ignored %s %s", kind, doc["id"])
        return accepted()
    if known_inbound(kind.lower()):
        try:
            validate("inbound", kind.lower(), doc)
        except SchemaError as exc:
            raise BadRequest(f"malformed {kind}: {exc}") from exc
    _check_origin(doc, key.actor_uri)
    domain = host_of(key.actor_uri)
    if s.deliverer is not None and domain:
        await s.deliverer.host_talked(domain)
    if kind == "Like" and s.like_batcher is not None:
        await s.like_batcher.submit(doc, key)
        return accepted()
    actor = await Account.get(id=key.account_id)
    await apply(s, handler, doc, actor)
    if kind == "Delete" and get_id(doc.get("object")) == actor.uri:
        s.keys = {k: v for k, v in s.keys.items() if v.actor_uri != actor.uri}
    return accepted()


async def apply(s: Any, handler: Any, doc: dict[str, Any], actor: Account) -> None:
    """Record the activity id and apply it, in one transaction; a replay changes nothing."""

    async def work() -> None:
        if await InboxItem.exists(uri=doc["id"]):
            return
        item = await InboxItem.create(uri=doc["id"], type=doc["type"], actor_uri=actor.uri, body=doc)
        try:
            await handler(Ctx(s, doc, actor))
        except NeedsFetch:
            item.state, item.next_try = "queued", datetime.now(UTC)
            await item.save(update_fields=["state", "next_try"])
            if s.inbox_worker is not None:
                s.inbox_worker.wake()

    try:
        await atomic(work)
    except IntegrityError:
        log.info("duplicate delivery of %s raced; already applied", doc["id"])
    if s.deliverer is not None:
        s.deliverer.wake()


@bp.errorhandler(Ignore)
async def _ignored(_: Ignore) -> Response:
    return json_response({}, 202)
