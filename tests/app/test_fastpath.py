"""The discovery fast path (fedi/web/fastpath.py): cached WebFinger and actor documents answered before
Quart must be byte for byte what the Quart routes answer, and everything else must still reach Quart."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import orjson
from quart import Quart

from fedi.admin import set_suspended
from fedi.web.fastpath import cached_response

AS2 = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def _call(asgi: Any, state: Any, path: str, query: str = "", accept: str = "",
                method: str = "GET") -> dict[str, Any]:
    """One request through an ASGI callable, as hypercorn makes it; the answer as status, headers, body,
    and whether the fast path could answer it (asked before the call fills any cache)."""
    headers = [(b"host", b"fedi.test")] + ([(b"accept", accept.encode())] if accept else [])
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 443),
             "extensions": {}}
    sent: list[dict[str, Any]] = []
    first = True
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()   # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    fast = cached_response(state, scope) is not None
    await asgi(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {"status": start["status"],
            "headers": sorted((bytes(k).lower(), bytes(v)) for k, v in start["headers"]),
            "body": b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
            "fast": fast}


async def _both(inst: Any, path: str, query: str = "", accept: str = "", method: str = "GET") -> dict[str, Any]:
    """The same request through Quart alone and through fedi's app (fast path first); they must agree."""
    quart_only = await _call(lambda *a: Quart.asgi_app(inst.app, *a), inst.state, path, query, accept, method)
    fedi = await _call(inst.app.asgi_app, inst.state, path, query, accept, method)
    assert (fedi["status"], fedi["headers"]) == (quart_only["status"], quart_only["headers"]), (path, query)
    if method != "HEAD":
        assert fedi["body"] == quart_only["body"], (path, query)
    return fedi


async def test_cached_discovery_documents_are_what_quart_serves(app_ctx: Any) -> None:
    inst = app_ctx
    await inst.user("alice")
    acct = "resource=acct:alice@fedi.test"
    first = await _both(inst, "/.well-known/webfinger", acct)
    assert first["status"] == 200
    assert orjson.loads(first["body"])["subject"] == "acct:alice@fedi.test"
    assert (b"content-type", b"application/jrd+json") in first["headers"]
    assert (b"access-control-allow-origin", b"*") in first["headers"]
    assert (b"cache-control", b"public, max-age=259200") in first["headers"]   # as Mastodon

    # Every way of naming alice is served from the cache once Quart has served her once.
    for query in (acct, "resource=" + quote("acct:alice@fedi.test", safe=""), "resource=alice@fedi.test",
                  "resource=@alice@fedi.test", "resource=acct:alice@FEDI.TEST",
                  "resource=https://fedi.test/users/alice", "resource=https://fedi.test/@alice",
                  "resource=%20acct:alice@fedi.test%20", "other=1&" + acct):
        answer = await _both(inst, "/.well-known/webfinger", query)
        assert answer["status"] == 200 and answer["fast"], query
        assert answer["body"] == first["body"]

    actor = await _both(inst, "/users/alice", accept=AS2)
    assert actor["status"] == 200
    doc = orjson.loads(actor["body"])
    assert doc["id"] == "https://fedi.test/users/alice" and doc["type"] == "Person"
    assert (b"vary", b"Accept") in actor["headers"]
    assert (b"cache-control", b"public, max-age=180") in actor["headers"]
    for accept in (AS2, LD, "application/ld+json", f"{AS2}, {LD}"):
        answer = await _both(inst, "/users/alice", accept=accept)
        assert answer["status"] == 200 and answer["fast"], accept
        assert answer["body"] == actor["body"]


async def test_what_the_cache_cannot_answer_goes_to_quart(app_ctx: Any) -> None:
    inst = app_ctx
    await inst.user("alice")
    await _both(inst, "/.well-known/webfinger", "resource=acct:alice@fedi.test")
    await _both(inst, "/users/alice", accept=AS2)
    cases = [
        ("/.well-known/webfinger", "", "", "GET", 400),                                  # no resource
        ("/.well-known/webfinger", "resource=", "", "GET", 400),
        ("/.well-known/webfinger", "resource=acct:bob@fedi.test", "", "GET", 404),        # nobody
        ("/.well-known/webfinger", "resource=acct:alice@elsewhere.test", "", "GET", 404),  # another server
        ("/.well-known/webfinger", "resource=https://fedi.test/users/alice/followers", "", "GET", 404),
        ("/.well-known/webfinger", "resource=acct:alice@fedi.test", "", "HEAD", 200),
        ("/users/alice", "", "text/html", "GET", 200),                                    # a browser: HTML
        ("/users/alice", "", "", "GET", 200),
        ("/users/alice/", "", AS2, "GET", 200),                                           # trailing slash
        ("/users/alice/outbox", "", AS2, "GET", 200),
        ("/users/bob", "", AS2, "GET", 404),
        ("/users/", "", AS2, "GET", 404),
        ("/users/alice", "", AS2, "HEAD", 200),
    ]
    for path, query, accept, method, status in cases:
        answer = await _both(inst, path, query, accept, method)
        assert answer["status"] == status, (path, query, accept, method)
        assert not answer["fast"], (path, query, accept, method)
    html = await _both(inst, "/users/alice", accept="text/html")
    assert html["body"].lstrip().lower().startswith(b"<!doctype html")


async def test_changes_show_at_once(app_ctx: Any) -> None:
    inst = app_ctx
    _, token = await inst.user("alice")
    await _both(inst, "/users/alice", accept=AS2)
    assert (await _both(inst, "/users/alice", accept=AS2))["fast"]
    resp = await inst.api("PATCH", "/api/v1/accounts/update_credentials", token,
                          form={"display_name": "Alice Renamed"})
    assert resp.status_code == 200
    answer = await _both(inst, "/users/alice", accept=AS2)
    assert orjson.loads(answer["body"])["name"] == "Alice Renamed"

    await _both(inst, "/.well-known/webfinger", "resource=acct:alice@fedi.test")
    await set_suspended("alice", True, inst.state)
    for path, query, accept in (("/users/alice", "", AS2),
                                ("/.well-known/webfinger", "resource=acct:alice@fedi.test", "")):
        answer = await _both(inst, path, query, accept)
        assert answer["status"] == 404 and not answer["fast"], path


async def test_a_fast_path_hit_near_expiry_renews_the_entry_in_the_background(app_ctx: Any) -> None:
    """In an entry's last second the fast path starts one reload (outside any Quart request) and still
    answers from cache; the next request is served from the renewed entry."""
    from fedi.state import LOCAL_TTL
    inst = app_ctx
    await inst.user("alice")
    await _both(inst, "/users/alice", accept=AS2)
    stamp, account = inst.state.local_cache["alice"]
    inst.state.local_cache["alice"] = (stamp - (LOCAL_TTL - 0.5), account)   # half a second left
    answer = await _call(inst.app.asgi_app, inst.state, "/users/alice", accept=AS2)
    assert answer["status"] == 200 and answer["fast"]
    loading = inst.state.local_loading["alice"]
    renewed = await loading
    assert renewed is not None and renewed.username == "alice"
    fresh_stamp, fresh = inst.state.local_cache["alice"]
    assert fresh is renewed and fresh_stamp > stamp - (LOCAL_TTL - 0.5)
    # the document is rebuilt once for the new object (through Quart), then served fast again
    rebuilt = await _call(inst.app.asgi_app, inst.state, "/users/alice", accept=AS2)
    assert rebuilt["status"] == 200 and not rebuilt["fast"]
    assert (await _call(inst.app.asgi_app, inst.state, "/users/alice", accept=AS2))["fast"]
