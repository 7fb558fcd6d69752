"""docs/openapi.json describes the client API: every path it lists is served, and what the server
answers matches the documented schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import png_bytes

SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())


def check(path: str, method: str, body: object) -> None:
    schema = SPEC["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    root = {"components": SPEC["components"], **schema}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path}: {errors[0].message} at {list(errors[0].path)}"


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
