"""Filters v2 (and the v1 view): readers' keyword and status filters, applied to their timelines, next to
the AI-label filter that stands for their AI-image setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fedi.models import Filter, FilterKeyword, FilterStatus


async def call(inst: Any, method: str, path: str, token: str, status: int = 200, **kw: Any) -> Any:
    resp = await inst.api(method, path, token, **kw)
    body = await resp.get_json()
    assert resp.status_code == status, (method, path, resp.status_code, body)
    return body


async def make_filter(inst: Any, token: str, keywords: list[dict[str, Any]] | None = None, **fields: Any) -> dict:
    doc = {"title": "Spoilers", "context": ["home", "public"], "filter_action": "warn",
           "keywords_attributes": keywords if keywords is not None else [{"keyword": "spoiler"}], **fields}
    return await call(inst, "POST", "/api/v2/filters", token, json=doc)


async def post(inst: Any, token: str, text: str) -> str:
    return (await call(inst, "POST", "/api/v1/statuses", token, json={"status": text}))["id"]


async def timeline(inst: Any, token: str, which: str = "home") -> dict[str, dict]:
    return {s["id"]: s for s in await call(inst, "GET", f"/api/v1/timelines/{which}", token)}


async def setup(inst: Any) -> tuple[str, str]:
    """alice follows bob; returns their tokens."""
    _, a = await inst.user("alice")
    bob, b = await inst.user("bob")
    await call(inst, "POST", f"/api/v1/accounts/{bob.id}/follow", a)
    return a, b


async def test_create_read_update_delete_filters_and_keywords(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    made = await make_filter(inst, a, [{"keyword": "spoiler", "whole_word": False}, {"keyword": "finale"}],
                             expires_in=3600)
    assert made["title"] == "Spoilers" and made["context"] == ["home", "public"]
    assert made["filter_action"] == "warn" and made["statuses"] == []
    assert [(k["keyword"], k["whole_word"]) for k in made["keywords"]] == [("spoiler", False), ("finale", True)]
    expires = datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    fid = made["id"]
    assert await call(inst, "GET", "/api/v2/filters", a) == [made]
    assert await call(inst, "GET", f"/api/v2/filters/{fid}", a) == made
    assert await call(inst, "GET", f"/api/v2/filters/{fid}/keywords", a) == made["keywords"]
    spoiler, finale = made["keywords"]

    # PUT: only what is sent changes; keywords_attributes update, destroy and add in one go
    updated = await call(inst, "PUT", f"/api/v2/filters/{fid}", a, json={
        "title": "TV", "filter_action": "hide", "expires_in": "", "keywords_attributes": [
            {"id": spoiler["id"], "keyword": "spoilers", "whole_word": True},
            {"id": finale["id"], "_destroy": True}, {"keyword": "season", "whole_word": "0"}]})
    assert (updated["title"], updated["context"], updated["filter_action"], updated["expires_at"]) == \
        ("TV", ["home", "public"], "hide", None)
    assert [(k["keyword"], k["whole_word"]) for k in updated["keywords"]] == [("spoilers", True), ("season", False)]

    # keywords one by one (Mastodon's paths, and the filter_keywords alias)
    added = await call(inst, "POST", f"/api/v2/filters/{fid}/keywords", a, form={"keyword": "episode",
                                                                                 "whole_word": "false"})
    assert (added["keyword"], added["whole_word"]) == ("episode", False)
    assert await call(inst, "GET", f"/api/v2/filters/keywords/{added['id']}", a) == added
    changed = await call(inst, "PUT", f"/api/v2/filter_keywords/{added['id']}", a, json={"keyword": "episodes"})
    assert (changed["keyword"], changed["whole_word"]) == ("episodes", False)
    assert await call(inst, "DELETE", f"/api/v2/filters/keywords/{added['id']}", a) == {}
    await call(inst, "GET", f"/api/v2/filter_keywords/{added['id']}", a, 404)

    # the v1 view: one filter per keyword
    v1 = await call(inst, "GET", "/api/v1/filters", a)
    assert [(f["phrase"], f["irreversible"], f["context"]) for f in v1] == \
        [("spoilers", True, ["home", "public"]), ("season", True, ["home", "public"])]
    assert await call(inst, "GET", f"/api/v1/filters/{v1[0]['id']}", a) == v1[0]

    assert await call(inst, "DELETE", f"/api/v2/filters/{fid}", a) == {}
    await call(inst, "GET", f"/api/v2/filters/{fid}", a, 404)
    assert await call(inst, "GET", "/api/v2/filters", a) == []
    assert await FilterKeyword.all().count() == 0


async def test_form_encoded_nested_keywords_and_v1_writes(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    made = await call(inst, "POST", "/api/v2/filters", a, form=[   # a list of pairs: repeated names, in order
        ("title", "Birds"), ("context[]", "thread"), ("keywords_attributes[][keyword]", "owl"),
        ("keywords_attributes[][whole_word]", "false"), ("keywords_attributes[][keyword]", "crow"),
        ("keywords_attributes[][whole_word]", "true")])
    assert made["context"] == ["thread"]
    assert [(k["keyword"], k["whole_word"]) for k in made["keywords"]] == [("owl", False), ("crow", True)]
    indexed = await call(inst, "PUT", f"/api/v2/filters/{made['id']}", a, form={
        "keywords_attributes[0][id]": made["keywords"][0]["id"], "keywords_attributes[0][_destroy]": "1"})
    assert [k["keyword"] for k in indexed["keywords"]] == ["crow"]

    v1 = await call(inst, "POST", "/api/v1/filters", a, json={"phrase": "rats", "context": ["home"],
                                                              "irreversible": True, "whole_word": False})
    assert (v1["phrase"], v1["irreversible"], v1["whole_word"], v1["context"]) == ("rats", True, False, ["home"])
    v2 = [f for f in await call(inst, "GET", "/api/v2/filters", a) if f["title"] == "rats"]
    assert v2[0]["filter_action"] == "hide"
    again = await call(inst, "PUT", f"/api/v1/filters/{v1['id']}", a, json={"phrase": "mice", "irreversible": False})
    assert (again["phrase"], again["irreversible"]) == ("mice", False)
    assert await call(inst, "DELETE", f"/api/v1/filters/{v1['id']}", a) == {}
    assert [f["title"] for f in await call(inst, "GET", "/api/v2/filters", a)] == ["Birds"]


async def test_filtered_in_home_and_public_timelines(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    hit = await post(inst, b, "No spoiler here, promise")
    miss = await post(inst, b, "Nothing to see")
    partial = await post(inst, b, "Spoilers!")                  # whole_word: "spoiler" is not "Spoilers"
    made = await make_filter(inst, a)
    for which in ("home", "public"):
        seen = await timeline(inst, a, which)
        [result] = seen[hit]["filtered"]
        assert result["keyword_matches"] == ["spoiler"] and result["status_matches"] is None
        assert result["filter"] == {"id": made["id"], "title": "Spoilers", "context": ["home", "public"],
                                    "expires_at": None, "filter_action": "warn"}
        assert seen[miss]["filtered"] == [] and seen[partial]["filtered"] == []
    # not whole_word: matches inside words too
    await call(inst, "PUT", f"/api/v2/filters/{made['id']}", a, json={
        "keywords_attributes": [{"id": made["keywords"][0]["id"], "whole_word": False}]})
    assert (await timeline(inst, a))[partial]["filtered"][0]["keyword_matches"] == ["spoiler"]
    # only in the contexts the filter names; never for other readers, nor anonymous ones
    await call(inst, "PUT", f"/api/v2/filters/{made['id']}", a, json={"context": ["home"]})
    assert (await timeline(inst, a, "public"))[hit]["filtered"] == []
    assert (await timeline(inst, a, "home"))[hit]["filtered"] != []
    assert (await timeline(inst, b, "home"))[hit]["filtered"] == []
    anonymous = {s["id"]: s for s in await (await inst.api("GET", "/api/v1/timelines/public")).get_json()}
    assert anonymous[hit]["filtered"] == []
    # a boost of a matching status is filtered too
    _, c = await inst.user("carol")
    await call(inst, "POST", f"/api/v1/statuses/{hit}/reblog", c)
    carol = await call(inst, "GET", "/api/v1/accounts/lookup?acct=carol", a)
    await call(inst, "POST", f"/api/v1/accounts/{carol['id']}/follow", a)
    boost = [s for s in (await timeline(inst, a)).values() if s["reblog"] and s["reblog"]["id"] == hit][0]
    assert boost["filtered"][0]["keyword_matches"] == ["spoiler"]
    assert boost["reblog"]["filtered"][0]["keyword_matches"] == ["spoiler"]


async def test_hide_removes_the_status_from_timelines_and_threads(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    root = await post(inst, b, "A quiet day")
    reply = (await call(inst, "POST", "/api/v1/statuses", b, json={"status": "the finale was great",
                                                                   "in_reply_to_id": root}))["id"]
    made = await make_filter(inst, a, [{"keyword": "finale"}], filter_action="hide",
                             context=["home", "public", "thread", "account"])
    bob = await call(inst, "GET", "/api/v1/accounts/lookup?acct=bob", a)
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public", f"/api/v1/accounts/{bob['id']}/statuses"):
        resp = await inst.api("GET", path, a)
        assert [s["id"] for s in await resp.get_json()] == [root], path
        assert f"min_id={reply}" in resp.headers["Link"]          # paging goes on past the hidden one
    assert (await call(inst, "GET", f"/api/v1/statuses/{root}/context", a))["descendants"] == []
    # asked for by id, it is there, marked
    direct = await call(inst, "GET", f"/api/v1/statuses/{reply}", a)
    assert direct["filtered"][0]["filter"]["filter_action"] == "hide"
    # the author and others still see it
    assert reply in await timeline(inst, b)
    # blur (Mastodon 4.4) only marks
    await call(inst, "PUT", f"/api/v2/filters/{made['id']}", a, json={"filter_action": "blur"})
    assert (await timeline(inst, a))[reply]["filtered"][0]["filter"]["filter_action"] == "blur"


async def test_status_filters(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    target = await post(inst, b, "This one, specifically")
    other = await post(inst, b, "Not this one")
    made = await make_filter(inst, a, [])
    added = await call(inst, "POST", f"/api/v2/filters/{made['id']}/statuses", a, json={"status_id": target})
    assert added["status_id"] == target
    assert await call(inst, "GET", f"/api/v2/filters/{made['id']}/statuses", a) == [added]
    assert await call(inst, "GET", f"/api/v2/filters/statuses/{added['id']}", a) == added
    assert await call(inst, "GET", f"/api/v2/filter_statuses/{added['id']}", a) == added
    seen = await timeline(inst, a)
    assert seen[target]["filtered"][0]["status_matches"] == [target]
    assert seen[target]["filtered"][0]["keyword_matches"] is None and seen[other]["filtered"] == []
    error = await call(inst, "POST", f"/api/v2/filters/{made['id']}/statuses", a, 422, json={"status_id": target})
    assert "already" in error["error"]
    await call(inst, "POST", f"/api/v2/filters/{made['id']}/statuses", a, 422, json={"status_id": "12345"})
    assert await call(inst, "DELETE", f"/api/v2/filters/statuses/{added['id']}", a) == {}
    assert (await timeline(inst, a))[target]["filtered"] == []


async def test_expired_filters_are_listed_but_not_applied(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    sid = await post(inst, b, "a spoiler")
    made = await make_filter(inst, a, expires_in=60, filter_action="hide")
    assert sid not in await timeline(inst, a)
    await Filter.filter(id=int(made["id"])).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await timeline(inst, a))[sid]["filtered"] == []
    assert [f["id"] for f in await call(inst, "GET", "/api/v2/filters", a)] == [made["id"]]


async def test_notifications_context(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    await post(inst, b, "@alice the spoiler is out")
    await post(inst, b, "@alice hello")
    assert len(await call(inst, "GET", "/api/v1/notifications", a)) == 2
    made = await make_filter(inst, a, context=["notifications"])
    warned = await call(inst, "GET", "/api/v1/notifications", a)
    assert sorted(len(n["status"]["filtered"]) for n in warned) == [0, 1]
    await call(inst, "PUT", f"/api/v2/filters/{made['id']}", a, json={"filter_action": "hide"})
    [left] = await call(inst, "GET", "/api/v1/notifications", a)
    assert "hello" in left["status"]["content"]


async def test_other_readers_filters_are_invisible(app_ctx):
    inst = app_ctx
    a, b = await setup(inst)
    made = await make_filter(inst, a, [{"keyword": "owl"}])
    sid = await post(inst, a, "my own owl")
    await call(inst, "POST", f"/api/v2/filters/{made['id']}/statuses", a, json={"status_id": sid})
    kid, fsid = made["keywords"][0]["id"], (await FilterStatus.get()).id
    assert await call(inst, "GET", "/api/v2/filters", b) == [] and await call(inst, "GET", "/api/v1/filters", b) == []
    for method, path in [("GET", f"/api/v2/filters/{made['id']}"), ("PUT", f"/api/v2/filters/{made['id']}"),
                         ("DELETE", f"/api/v2/filters/{made['id']}"), ("GET", f"/api/v2/filters/{made['id']}/keywords"),
                         ("POST", f"/api/v2/filters/{made['id']}/keywords"),
                         ("GET", f"/api/v2/filters/{made['id']}/statuses"),
                         ("GET", f"/api/v2/filters/keywords/{kid}"), ("PUT", f"/api/v2/filters/keywords/{kid}"),
                         ("DELETE", f"/api/v2/filters/keywords/{kid}"), ("GET", f"/api/v2/filters/statuses/{fsid}"),
                         ("DELETE", f"/api/v2/filters/statuses/{fsid}"), ("GET", f"/api/v1/filters/{kid}"),
                         ("PUT", f"/api/v1/filters/{kid}"), ("DELETE", f"/api/v1/filters/{kid}")]:
        error = await call(inst, method, path, b, 404, json={"title": "mine now", "keyword": "x", "phrase": "x"})
        assert error == {"error": "Record not found"}, (method, path)
    assert await call(inst, "GET", f"/api/v2/filters/{made['id']}", a) == \
        {**made, "statuses": [{"id": str(fsid), "status_id": sid}]}
    # one's own statuses are never filtered
    assert (await timeline(inst, a))[sid]["filtered"] == []
    # scopes: read:filters reads, write:filters writes
    from fedi.accounts import create_token
    from fedi.models import Account
    reader = await create_token(await Account.get(username="alice"), "read:filters")
    assert len(await call(inst, "GET", "/api/v2/filters", reader)) == 1
    await call(inst, "POST", "/api/v2/filters", reader, 403, json={"title": "x", "context": ["home"]})
    await call(inst, "GET", f"/api/v2/filter_keywords/{kid}", reader)


async def test_bad_input_is_refused_and_changes_nothing(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    made = await make_filter(inst, a)
    other = await make_filter(inst, a, [{"keyword": "other"}], title="Other")
    before = await call(inst, "GET", "/api/v2/filters", a)
    fid = made["id"]
    bad_creates = [{"context": ["home"]}, {"title": " ", "context": ["home"]}, {"title": "x"},
                   {"title": "x", "context": []}, {"title": "x", "context": ["home", "everywhere"]},
                   {"title": "x", "context": ["home"], "filter_action": "explode"},
                   {"title": "x", "context": ["home"], "expires_in": "soon"},
                   {"title": "x", "context": ["home"], "expires_in": -5},
                   {"title": "x" * 300, "context": ["home"]},
                   {"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": "ok"}, {"keyword": " "}]},
                   {"title": "x", "context": ["home"], "keywords_attributes": ["owl"]},
                   {"title": "x", "context": ["home"],
                    "keywords_attributes": [{"keyword": "a", "whole_word": "kinda"}]}]
    for body in bad_creates:
        error = await call(inst, "POST", "/api/v2/filters", a, 422, json=body)
        assert error["error"].startswith("Validation failed"), body
    bad_updates = [{"title": ""}, {"context": ["nowhere"]}, {"filter_action": "warn", "expires_in": 0},
                   {"title": "renamed", "keywords_attributes": [{"keyword": ""}]}]
    for body in bad_updates:
        await call(inst, "PUT", f"/api/v2/filters/{fid}", a, 422, json=body)
    # a keyword of another filter cannot be edited through this one
    await call(inst, "PUT", f"/api/v2/filters/{fid}", a, 404, json={
        "title": "renamed", "keywords_attributes": [{"id": other["keywords"][0]["id"], "_destroy": True}]})
    await call(inst, "POST", f"/api/v2/filters/{fid}/keywords", a, 422, json={"keyword": ""})
    await call(inst, "PUT", f"/api/v2/filters/keywords/{made['keywords'][0]['id']}", a, 422, json={"keyword": " "})
    await call(inst, "POST", "/api/v1/filters", a, 422, json={"phrase": "x", "context": ["sideways"]})
    await call(inst, "GET", "/api/v2/filters/not-a-number", a, 404)
    assert await call(inst, "GET", "/api/v2/filters", a) == before


async def test_the_ai_label_filter_is_kept(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    assert await call(inst, "GET", "/api/v2/filters", a) == []
    await call(inst, "GET", "/api/v2/filters/fedi-ai", a, 404)
    await inst.api("PATCH", "/api/v1/accounts/update_credentials", a, form={"fedi_ai_filter": "blur"})
    mine = await make_filter(inst, a)
    ai, own = await call(inst, "GET", "/api/v2/filters", a)
    assert ai == {"id": "fedi-ai", "title": "AI-generated images from other servers", "context": ["home", "public"],
                  "expires_at": None, "filter_action": "warn", "keywords": [], "statuses": []}
    assert own == mine
    assert await call(inst, "GET", "/api/v2/filters/fedi-ai", a) == ai
    assert await call(inst, "GET", "/api/v2/filters/fedi-ai/keywords", a) == []
    # only its action changes; what apps send back unchanged is accepted
    hidden = await call(inst, "PUT", "/api/v2/filters/fedi-ai", a, json={
        "title": ai["title"], "context": ["public", "home"], "filter_action": "hide", "keywords_attributes": []})
    assert hidden == {**ai, "filter_action": "hide"}
    await alice.refresh_from_db()
    assert alice.ai_filter == "hide"
    for body in ({"title": "Robots"}, {"context": ["home"]}, {"expires_in": 60}, {"filter_action": "explode"},
                 {"keywords_attributes": [{"keyword": "ai"}]}):
        error = await call(inst, "PUT", "/api/v2/filters/fedi-ai", a, 422, json=body)
        assert "error" in error
    error = await call(inst, "POST", "/api/v2/filters/fedi-ai/keywords", a, 422, json={"keyword": "ai"})
    assert "AI-label filter" in error["error"]
    await call(inst, "POST", "/api/v2/filters/fedi-ai/statuses", a, 422, json={"status_id": "1"})
    await alice.refresh_from_db()
    assert alice.ai_filter == "hide"
    assert await call(inst, "PUT", "/api/v2/filters/fedi-ai", a, json={"filter_action": "warn"}) == ai
    # deleting it is turning the setting off
    assert await call(inst, "DELETE", "/api/v2/filters/fedi-ai", a) == {}
    await alice.refresh_from_db()
    assert alice.ai_filter == "show"
    assert await call(inst, "GET", "/api/v2/filters", a) == [mine]
    assert await call(inst, "GET", "/api/v1/filters", a) == [
        {"id": mine["keywords"][0]["id"], "phrase": "spoiler", "context": ["home", "public"], "whole_word": True,
         "expires_at": None, "irreversible": False}]
