"""docs/openapi.json describes the client API: every path it lists is served, and what the server
answers matches the documented schemas."""

from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import png_bytes

SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())


def check_schema(schema: dict, body: object, where: str) -> None:
    root = {"components": SPEC["components"], **schema}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].path)}"


def check(path: str, method: str, body: object) -> None:
    schema = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    check_schema(schema, body, f"{method.upper()} {path}")


def documented(path: str, method: str, status: int, content_type: str | None) -> dict:
    """The documented answer for this status (exact, or 4XX style) and content type; the schema, if any."""
    responses = SPEC["paths"][path][method]["responses"]
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    assert answer is not None, f"{method.upper()} {path}: status {status} is not documented"
    content = answer.get("content") or {}
    if not content:
        return {}
    kind = (content_type or "").split(";")[0].strip()
    assert kind in content, f"{method.upper()} {path} {status}: {kind} is not documented ({list(content)})"
    return content[kind].get("schema", {})


async def answer(path: str, method: str, resp) -> object:
    """Check a whole answer against the spec: status, content type and (JSON) schema. Returns the body."""
    schema = documented(path, method, resp.status_code, resp.headers.get("Content-Type"))
    if resp.mimetype == "application/json":
        body = await resp.get_json()
        check_schema(schema, body, f"{method.upper()} {path} {resp.status_code}")
        return body
    return await resp.get_data(as_text=True)


def test_the_spec_is_valid_openapi():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(SPEC)


async def test_every_documented_path_is_served(app_ctx):
    rules = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule), m.lower())
             for r in app_ctx.app.url_map.iter_rules() for m in r.methods or ()}
    normalised = {(re.sub(r"\{\w+\}", "{}", p), m) for p, m in rules}
    for path, ops in SPEC["paths"].items():
        for method in ops:
            assert (re.sub(r"\{\w+\}", "{}", path), method) in normalised, f"{method.upper()} {path} is not served"


async def test_answers_match_the_documented_schemas(app_ctx):
    from io import BytesIO

    from quart.datastructures import FileStorage
    inst = app_ctx
    alice, a = await inst.user("alice")
    bob, b = await inst.user("bob")
    files = {"file": FileStorage(BytesIO(png_bytes(120, 80)), filename="x.png", content_type="image/png")}
    media = await (await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {a}"}, files=files,
                                          form={"description": "a fox", "license": "CC-BY-4.0"})).get_json()
    check("/api/v2/media", "post", media)
    status = await (await inst.api("POST", "/api/v1/statuses", a, json={
        "status": "Fox #aiart", "media_ids": [media["id"]], "model": "sdxl", "prompt": "a fox", "seed": 3})).get_json()
    check("/api/v1/statuses", "post", status)
    sid = status["id"]
    check("/api/v1/accounts/{id}/follow", "post",
          await (await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow", b)).get_json())
    for action in ("favourite", "reblog", "bookmark"):
        check(f"/api/v1/statuses/{{id}}/{action}", "post",
              await (await inst.api("POST", f"/api/v1/statuses/{sid}/{action}", b)).get_json())
    gets = {
        "/api/v1/accounts/verify_credentials": "/api/v1/accounts/verify_credentials",
        "/api/v1/accounts/{id}": f"/api/v1/accounts/{alice.id}",
        "/api/v1/accounts/{id}/statuses": f"/api/v1/accounts/{alice.id}/statuses",
        "/api/v1/accounts/{id}/followers": f"/api/v1/accounts/{alice.id}/followers",
        "/api/v1/accounts/{id}/following": f"/api/v1/accounts/{bob.id}/following",
        "/api/v1/accounts/relationships": f"/api/v1/accounts/relationships?id[]={bob.id}",
        "/api/v1/accounts/lookup": "/api/v1/accounts/lookup?acct=bob",
        "/api/v1/statuses/{id}": f"/api/v1/statuses/{sid}",
        "/api/v1/statuses/{id}/context": f"/api/v1/statuses/{sid}/context",
        "/api/v1/statuses/{id}/favourited_by": f"/api/v1/statuses/{sid}/favourited_by",
        "/api/v1/statuses/{id}/reblogged_by": f"/api/v1/statuses/{sid}/reblogged_by",
        "/api/v1/statuses/{id}/history": f"/api/v1/statuses/{sid}/history",
        "/api/v1/timelines/home": "/api/v1/timelines/home",
        "/api/v1/timelines/public": "/api/v1/timelines/public",
        "/api/v1/timelines/tag/{tag}": "/api/v1/timelines/tag/aiart",
        "/api/v1/notifications": "/api/v1/notifications",
        "/api/v1/bookmarks": "/api/v1/bookmarks",
        "/api/v2/search": "/api/v2/search?q=alice",
        "/api/v1/instance": "/api/v1/instance",
        "/api/v2/instance": "/api/v2/instance",
        "/api/v1/custom_emojis": "/api/v1/custom_emojis",
        "/api/v1/markers": "/api/v1/markers",
        "/api/v1/preferences": "/api/v1/preferences",
        "/api/v2/filters": "/api/v2/filters",
        "/api/v1/trends/tags": "/api/v1/trends/tags",
        "/api/v1/trends/statuses": "/api/v1/trends/statuses",
        "/api/v1/media/{id}": f"/api/v1/media/{media['id']}",
    }
    for documented, url in gets.items():
        token = b if "bookmarks" in url or "home" in url else a
        resp = await inst.api("GET", url, token)
        assert resp.status_code == 200, url
        check(documented, "get", await resp.get_json())
    bad = await inst.api("GET", "/api/v1/statuses/nope", a)
    assert bad.status_code == 404
    Draft202012Validator(SPEC["components"]["schemas"]["Error"]).validate(await bad.get_json())


async def test_oauth_answers_match_the_spec(app_ctx):
    """The whole code flow without a browser: register, open the login page, post it as a browser would,
    exchange the code, revoke; and the error answers."""
    from fedi.accounts import create_user
    inst = app_ctx
    await create_user(inst.state.urls, "carol", password="a long enough password")
    redirect = "https://client.example/callback"
    app = await answer("/api/v1/apps", "post", await inst.client.post(
        "/api/v1/apps", json={"client_name": "spec client", "redirect_uris": [redirect], "scopes": "read write"}))
    assert app["client_id"] and app["client_secret"] and app["redirect_uris"] == [redirect]
    bad = await inst.client.post("/api/v1/apps", json={"redirect_uris": redirect})
    assert bad.status_code == 422
    await answer("/api/v1/apps", "post", bad)
    client = {"client_id": app["client_id"], "client_secret": app["client_secret"]}

    app_token = await answer("/oauth/token", "post", await inst.client.post(
        "/oauth/token", form={"grant_type": "client_credentials", "scope": "read", **client}))
    verified = await answer("/api/v1/apps/verify_credentials", "get",
                            await inst.api("GET", "/api/v1/apps/verify_credentials", app_token["access_token"]))
    assert verified["name"] == "spec client" and "client_secret" not in verified
    meta = await answer("/.well-known/oauth-authorization-server", "get",
                        await inst.client.get("/.well-known/oauth-authorization-server"))
    assert meta["token_endpoint"].endswith("/oauth/token")

    query = urlencode({"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect,
                       "scope": "read write", "state": "xyz"})
    page = await answer("/oauth/authorize", "get", await inst.client.get(f"/oauth/authorize?{query}"))
    fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)}
    assert fields["csrf_token"] and fields["client_id"] == app["client_id"]
    wrong = await inst.client.post("/oauth/authorize", form={**fields, "username": "carol", "password": "nope!"})
    assert wrong.status_code == 401
    await answer("/oauth/authorize", "post", wrong)
    resp = await inst.client.post("/oauth/authorize", form={**fields, "username": "carol", "decision": "authorize",
                                                            "password": "a long enough password"})
    assert resp.status_code == 302
    await answer("/oauth/authorize", "post", resp)
    back = urlsplit(resp.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == redirect
    got = parse_qs(back.query)
    assert got["state"] == ["xyz"]
    exchange = {"grant_type": "authorization_code", "code": got["code"][0], "redirect_uri": redirect, **client}
    token = await answer("/oauth/token", "post", await inst.client.post("/oauth/token", form=exchange))
    assert token["refresh_token"] and token["scope"] == "read write"
    again = await inst.client.post("/oauth/token", form=exchange)
    assert again.status_code == 400 and (await answer("/oauth/token", "post", again))["error"] == "invalid_grant"
    unknown = await inst.client.get("/oauth/authorize?response_type=code&client_id=nobody")
    assert unknown.status_code == 400
    await answer("/oauth/authorize", "get", unknown)

    me = await inst.api("GET", "/api/v1/accounts/verify_credentials", token["access_token"])
    assert (await me.get_json())["username"] == "carol"
    assert await answer("/oauth/revoke", "post", await inst.client.post(
        "/oauth/revoke", form={"token": token["access_token"], **client})) == {}
    assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", token["access_token"])).status_code == 401
    missing = await inst.client.post("/oauth/revoke", form=client)
    assert missing.status_code == 400
    await answer("/oauth/revoke", "post", missing)


async def test_streaming_answers_match_the_spec(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    health = await inst.client.get("/api/v1/streaming/health")
    assert await answer("/api/v1/streaming/health", "get", health) == "OK"
    event_streams = [path for path, ops in SPEC["paths"].items() if "get" in ops
                     and "text/event-stream" in ops["get"]["responses"].get("200", {}).get("content", {})]
    assert len(event_streams) == 7
    for path in event_streams:
        url = f"{path}?tag=owls" if "hashtag" in path else path
        async with inst.client.request(url, headers={"Authorization": f"Bearer {token}"}) as conn:
            await conn.send_complete()
            async with asyncio.timeout(5):
                first = await conn.receive()
            await conn.disconnect()
        documented(path, "get", conn.status_code, conn.headers["Content-Type"])
        assert conn.status_code == 200 and first.startswith(b":)"), path
    for path, url in [("/api/v1/streaming/hashtag", "/api/v1/streaming/hashtag"),
                      ("/api/v1/streaming/user", "/api/v1/streaming/user")]:
        resp = await inst.client.get(url)
        assert resp.status_code in (400, 401)
        await answer(path, "get", resp)

    # what the streams carry: an update's payload is a Status, on the event stream and on the websocket
    async with inst.client.request("/api/v1/streaming/public/local") as conn, \
            inst.client.websocket(f"/api/v1/streaming?stream=public&access_token={token}") as ws:
        await conn.send_complete()
        received = b""
        async with asyncio.timeout(5):
            while b":)" not in received:
                received += await conn.receive()
            for _ in range(250):  # the websocket subscribes as it opens
                if len(inst.state.stream_hub.subscribers) == 2:
                    break
                await asyncio.sleep(0.02)
            await inst.api("POST", "/api/v1/statuses", token, json={"status": "streamed"})
            while b"\n\n" not in received.partition(b"event: update\n")[2]:
                received += await conn.receive()
            message = json.loads(await ws.receive())
        await conn.disconnect()
    data = received.partition(b"event: update\n")[2].partition(b"\n\n")[0]
    assert data.startswith(b"data: ")
    check_schema({"$ref": "#/components/schemas/Status"}, json.loads(data[6:]), "event stream update")
    assert message["stream"] == ["public"] and message["event"] == "update"
    check_schema({"$ref": "#/components/schemas/Status"}, json.loads(message["payload"]), "websocket update")
