"""Discovery GETs answered from cache at the ASGI layer, before Quart.

WebFinger and the actor document are the GETs other servers send most (every follow, every mention,
every signature check of a peer with a cold cache). Once fedi/web/wellknown.py or
fedi/web/activitypub.py has served an account, its document sits serialised in State.account_doc;
answering the next request for it through Quart (request context, routing, hooks, a Response
object) cost about 40 % of the request's CPU on hypercorn (docs/performance.md). Here a request
that will be answered with those cached bytes is answered at once; everything else (a miss, an
expired cache entry, HEAD, a browser asking for HTML, a suspended or deleted account, any
query this code does not recognise) goes to Quart unchanged, which fills the cache as before.

The bytes and headers are the ones the Quart routes send; tests/app/test_fastpath.py compares
the two paths response by response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fedi.state import State

AS2 = b"application/activity+json"
# As Mastodon: shared caches (a CDN, a reverse proxy) may keep a WebFinger answer 3 days and an actor
# document 3 minutes; the Quart routes send the same.
WEBFINGER_CACHE = "public, max-age=259200"
ACTOR_CACHE = "public, max-age=180"
_WEBFINGER_CACHE, _ACTOR_CACHE = WEBFINGER_CACHE.encode(), ACTOR_CACHE.encode()
WEBFINGER = "/.well-known/webfinger"
USERS = "/users/"

Send = Callable[[dict[str, Any]], Awaitable[None]]


def account_name(state: State, resource: str) -> str | None:
    """The local username named by an acct: URI or one of our actor/profile URLs."""
    if resource.startswith("acct:"):
        resource = resource[5:]
    if resource.startswith(("http://", "https://")):
        for prefix in (state.urls.actor(""), state.urls.profile("")):
            if resource.startswith(prefix) and "/" not in resource[len(prefix):]:
                return resource[len(prefix):]
        if resource.rstrip("/") in (state.urls.instance_actor(), state.urls.base):
            return "instance.actor"
        return None
    user, sep, host = resource.lstrip("@").rpartition("@")
    if not sep or host.lower() != state.cfg.domain:
        return None
    return user


def _header(scope: dict[str, Any], name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def cached_response(state: State, scope: dict[str, Any]) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
    """(body, headers) for a request the cache can answer exactly as Quart would, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if path == WEBFINGER:
        resources = [v for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                     if k == "resource"]
        name = account_name(state, resources[0].strip()) if resources else None
        account = state.cached_local(name) if name else None
        if account is None or account.suspended:
            return None
        body = state.cached_doc("webfinger", account)
        if body is None:
            return None
        return body, [(b"content-type", b"application/jrd+json"), (b"content-length", b"%d" % len(body)),
                      (b"access-control-allow-origin", b"*"), (b"cache-control", _WEBFINGER_CACHE)]
    if path.startswith(USERS):
        name = path[len(USERS):]
        if not name or "/" in name:
            return None
        accept = _header(scope, b"accept")
        if b"activity+json" not in accept and b"ld+json" not in accept:
            return None   # a browser: the HTML profile
        account = state.cached_local(name)
        if account is None or account.gone or account.suspended or account.actor_type != "Person":
            return None
        body = state.cached_doc("actor", account)
        if body is None:
            return None
        return body, [(b"content-type", AS2), (b"content-length", b"%d" % len(body)), (b"vary", b"Accept"),
                      (b"cache-control", _ACTOR_CACHE)]
    return None


async def serve_cached(state: State, scope: dict[str, Any], send: Send) -> bool:
    """Answer the request from cache if it can be; True when it was answered."""
    hit = cached_response(state, scope)
    if hit is None:
        return False
    body, headers = hit
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return True
