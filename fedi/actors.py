"""Remote actors: fetched with a signed GET, cached as Account rows, found by keyId or handle."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from tortoise.exceptions import IntegrityError

from fedi.activitystreams import first_url, get_id
from fedi.admin import is_blocked
from fedi.db import select
from fedi.errors import BadRequest, NotFound, RemoteError
from fedi.http import Blocked
from fedi.models import Account
from fedi.state import KeyInfo, State
from fedi.text import sanitize

log = logging.getLogger("fedi.actors")
ACTOR_TYPES = {"Person", "Service", "Application", "Group", "Organization"}
STALE = timedelta(days=1)


def host_of(uri: str) -> str:
    return (urlsplit(uri).netloc or "").lower()


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    key = doc.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict)), None)
    key = key if isinstance(key, dict) else {}
    raw_endpoints = doc.get("endpoints")
    endpoints: dict[str, Any] = raw_endpoints if isinstance(raw_endpoints, dict) else {}
    uri = doc["id"]
    return {
        "username": str(doc.get("preferredUsername") or uri.rstrip("/").rsplit("/", 1)[-1])[:255],
        "domain": host_of(uri),
        "url": first_url(doc.get("url")) or uri,
        "actor_type": doc.get("type") if doc.get("type") in ACTOR_TYPES else "Person",
        "display_name": str(doc.get("name") or "")[:255],
        "summary": sanitize(str(doc.get("summary") or "")),
        "avatar_url": first_url(doc.get("icon")),
        "header_url": first_url(doc.get("image")),
        "inbox": str(doc.get("inbox") or ""),
        "shared_inbox": endpoints.get("sharedInbox") if isinstance(endpoints.get("sharedInbox"), str) else None,
        "outbox": get_id(doc.get("outbox")),
        "followers_url": get_id(doc.get("followers")),
        "following_url": get_id(doc.get("following")),
        "featured_url": get_id(doc.get("featured")),
        "key_id": key.get("id"),
        "public_key_pem": str(key.get("publicKeyPem") or ""),
        "manually_approves_followers": bool(doc.get("manuallyApprovesFollowers")),
        "discoverable": bool(doc.get("discoverable", False)),
        "bot": doc.get("type") in ("Service", "Application"),
        "fetched_at": datetime.now(UTC),
        "gone": False,
    }


async def store_actor(state: State, doc: dict[str, Any], *, absent: bool = False) -> Account:
    """Insert or refresh the Account for an actor document (whose id is already trusted).

    absent: the caller has just looked for an account with this id and found none."""
    uri = doc.get("id")
    if not isinstance(uri, str) or doc.get("type") not in ACTOR_TYPES or not doc.get("inbox"):
        raise BadRequest("not an actor document")
    if host_of(uri) == state.cfg.domain:
        raise BadRequest("refusing to overwrite a local actor")
    values = _fields(doc)
    account = None if absent else await Account.get_or_none(uri=uri)
    if account is None:
        try:
            account = await Account.create(uri=uri, **values)
        except IntegrityError as exc:
            # username@domain is taken by another actor id (Lemmy users and communities share
            # names): never move the existing account's follows and posts to a newcomer.
            clash = RemoteError(f"{uri} clashes with another actor named {values['username']}@{values['domain']}")
            try:   # ... unless it is this actor, stored meanwhile by a request that fetched it too
                account = await Account.get_or_none(uri=uri)
            except Exception:   # a PostgreSQL transaction that the failed INSERT aborted
                raise clash from exc
            if account is None:
                raise clash from exc
            account.update_from_dict(values)
            await account.save()
    else:
        account.update_from_dict(values)
        await account.save()
    remember_key(state, account)
    return account


def remember_key(state: State, account: Account) -> None:
    if account.key_id and account.public_key_pem:
        state.keys[account.key_id] = KeyInfo(account.id, account.uri, account.public_key_pem)


async def fetch_actor(state: State, uri: str, *, absent: bool = False) -> Account:
    """Fetch and store an actor; absent: no account with this id was found just now."""
    if await is_blocked(state, host_of(uri)):
        raise Blocked(f"{host_of(uri)} is blocked")
    doc = await state.http.get_json(uri, signer=state.signer)
    if doc.get("type") not in ACTOR_TYPES or not doc.get("inbox"):
        # a key document (or GoToSocial's key stub): fetch the owner it names
        raw_key = doc.get("publicKey")
        key: dict[str, Any] = raw_key if isinstance(raw_key, dict) else {}
        owner = get_id(doc.get("owner")) or get_id(key.get("owner")) or get_id(doc)
        if not owner or owner == uri or host_of(owner) != host_of(uri):
            raise RemoteError(f"{uri} is not an actor and names no owner")
        doc = await state.http.get_json(owner, signer=state.signer)
    if host_of(get_id(doc) or "") != host_of(uri):
        raise RemoteError(f"{uri} returned a document from another host")
    return await store_actor(state, doc, absent=absent and get_id(doc) == uri)


async def get_actor(state: State, uri: str, *, refresh: bool = False) -> Account:
    account = await Account.get_or_none(uri=uri)
    if account is not None and (account.local or (not refresh and not _stale(account))):
        return account
    try:
        return await fetch_actor(state, uri)
    except RemoteError:
        if account is not None:
            return account
        raise


def _stale(account: Account) -> bool:
    return account.fetched_at is None or datetime.now(UTC) - account.fetched_at > STALE


async def key_for(state: State, key_id: str, *, refresh: bool = False) -> KeyInfo:
    """The public key behind a keyId: from memory, the database, or the network."""
    owner = key_id.split("#", 1)[0]
    absent = False
    if not refresh:
        if key_id in state.keys:
            return state.keys[key_id]
        # One raw query for the key and for its likely owner (the keyId without its fragment): a
        # first contact then stores the fetched actor without looking for it a second time.
        rows = await select("SELECT id, uri, key_id, public_key_pem FROM accounts WHERE key_id = ? OR uri = ?",
                            key_id, owner)
        for row in rows:
            if row["key_id"] == key_id and row["public_key_pem"]:
                info = state.keys[key_id] = KeyInfo(row["id"], row["uri"], row["public_key_pem"])
                return info
        absent = not any(row["uri"] == owner for row in rows)
    account = await fetch_actor(state, owner, absent=absent)
    if account.key_id != key_id:
        raise RemoteError(f"actor {account.uri} does not own key {key_id}")
    return state.keys[key_id]


async def resolve_handle(state: State, handle: str) -> Account:
    """user@host (or @user@host) to an Account, by WebFinger then the actor document."""
    user, sep, host = handle.strip().lstrip("@").partition("@")
    if not sep or not user or not host:
        raise BadRequest(f"not a handle: {handle!r}")
    host = host.lower()
    if await is_blocked(state, host):
        raise NotFound(f"could not find {handle}: {host} is blocked")
    if host == state.cfg.domain:
        local = await Account.get_or_none(username=user, domain=None)
        if local is None:
            raise NotFound(f"no such account: {handle}")
        return local
    known = await Account.get_or_none(username=user, domain=host)
    if known is not None and not _stale(known):
        return known
    url = f"{state.cfg.scheme}://{host}/.well-known/webfinger?resource={quote(f'acct:{user}@{host}')}"
    try:
        jrd = await state.http.get_json(url, accept="application/jrd+json, application/json")
    except RemoteError as exc:
        raise NotFound(f"could not find {handle}: {exc}") from exc
    raw_links = jrd.get("links")
    links: list[Any] = raw_links if isinstance(raw_links, list) else []
    href = next((link.get("href") for link in links if isinstance(link, dict) and link.get("rel") == "self"
                 and "json" in str(link.get("type", ""))), None)
    if not href:
        raise NotFound(f"{handle} has no ActivityPub actor")
    try:
        return await get_actor(state, href, refresh=True)
    except RemoteError as exc:
        raise NotFound(f"could not fetch {handle}: {exc}") from exc
