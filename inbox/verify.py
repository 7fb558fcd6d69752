"""Who sent this? HTTP signature -> key -> actor, checked before any handler runs."""

from __future__ import annotations

import logging
from typing import Any

from fedi import signatures
from fedi.activitystreams import get_id
from fedi.actors import host_of, key_for
from fedi.errors import FediError, Forbidden, Unauthorized
from fedi.models import Account
from fedi.state import KeyInfo, State

log = logging.getLogger("fedi.inbox")


class Ignore(Exception):
    """Answer 202 and do nothing (e.g. a Delete from an actor we never knew)."""


async def verify_request(state: State, method: str, path: str, headers: signatures.HeaderMap, body: bytes,
                         doc: dict[str, Any]) -> KeyInfo:
    """Returns the verified signer's key; raises 401 (bad signature) or 403 (signer is not the actor)."""
    raw = headers.get("signature") or headers.get("authorization") or ""
    if not raw:
        raise Unauthorized("request is not signed")
    try:
        params = signatures.parse_signature(raw)
        signatures.require_signed(params, method, has_body=True)
        signatures.check_date(headers, params)
        signatures.check_digest(headers, body)
    except signatures.SignatureError as exc:
        raise Unauthorized(str(exc)) from exc
    actor_uri = get_id(doc.get("actor"))
    if not actor_uri:
        raise FediError("activity has no actor", 400)
    if host_of(params.key_id) != host_of(actor_uri):
        raise Forbidden("the signing key does not belong to the activity's actor")
    if doc.get("type") == "Delete" and get_id(doc.get("object")) == actor_uri:
        # An actor deleting itself is usually gone (410) already: never fetch it, use what we have.
        known = await Account.get_or_none(uri=actor_uri)
        if known is None or not known.public_key_pem:
            raise Ignore()
        try:
            signatures.verify(method, path, headers, params, known.public_key_pem)
        except signatures.SignatureError as exc:
            raise Unauthorized(str(exc)) from exc
        return KeyInfo(known.id, known.uri, known.public_key_pem)
    key = await _key(state, params.key_id, refresh=False)
    try:
        signatures.verify(method, path, headers, params, key.public_key_pem)
    except signatures.SignatureError:
        # the actor may have rotated its key: refetch once
        key = await _key(state, params.key_id, refresh=True)
        try:
            signatures.verify(method, path, headers, params, key.public_key_pem)
        except signatures.SignatureError as exc:
            raise Unauthorized(str(exc)) from exc
    if key.actor_uri != actor_uri:
        raise Forbidden("the signer is not the activity's actor")
    return key


async def _key(state: State, key_id: str, *, refresh: bool) -> KeyInfo:
    try:
        return await key_for(state, key_id, refresh=refresh)
    except FediError:
        raise
    except Exception as exc:
        log.info("cannot get key %s: %s", key_id, exc)
        raise Unauthorized(f"could not fetch the signing key {key_id}") from exc
