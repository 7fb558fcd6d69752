"""What Mastodon apps call besides posting: bookmarks, who liked, edit history, blocks and mutes,
markers, preferences, emojis, trends and the AI-label filter."""

from __future__ import annotations

import orjson

from fedi.models import Delivery
from tests.helpers import person
from tests.keys import ALICE_PUBLIC_PEM


async def test_bookmarks_likers_boosters_and_history(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    _, b = await inst.user("bob")
    status = await (await inst.api("POST", "/api/v1/statuses", a, json={"status": "first #owls"})).get_json()
    sid = status["id"]
    marked = await (await inst.api("POST", f"/api/v1/statuses/{sid}/bookmark", b)).get_json()
    assert marked["bookmarked"] is True
    assert [s["id"] for s in await (await inst.api("GET", "/api/v1/bookmarks", b)).get_json()] == [sid]
    await inst.api("POST", f"/api/v1/statuses/{sid}/unbookmark", b)
    assert await (await inst.api("GET", "/api/v1/bookmarks", b)).get_json() == []
    await inst.api("POST", f"/api/v1/statuses/{sid}/favourite", b)
    await inst.api("POST", f"/api/v1/statuses/{sid}/reblog", b)
    likers = await (await inst.api("GET", f"/api/v1/statuses/{sid}/favourited_by", a)).get_json()
    boosters = await (await inst.api("GET", f"/api/v1/statuses/{sid}/reblogged_by", a)).get_json()
    assert [x["username"] for x in likers] == [x["username"] for x in boosters] == ["bob"]
    await inst.api("PUT", f"/api/v1/statuses/{sid}", a, json={"status": "second"})
    versions = await (await inst.api("GET", f"/api/v1/statuses/{sid}/history", a)).get_json()
    assert ["first" in versions[0]["content"], "second" in versions[1]["content"]] == [True, True]
    src = await (await inst.api("GET", f"/api/v1/statuses/{sid}/source", a)).get_json()
    assert src["text"] == "second"
    trends = await (await inst.api("GET", "/api/v1/trends/statuses")).get_json()
    assert [s["id"] for s in trends] == [sid]


async def test_blocks_and_mutes(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    bob, b = await inst.user("bob")
    await inst.api("POST", f"/api/v1/accounts/{bob.id}/follow", a)
    await inst.api("POST", "/api/v1/statuses", b, json={"status": "from bob"})
    assert len(await (await inst.api("GET", "/api/v1/timelines/home", a)).get_json()) == 1
    rel = await (await inst.api("POST", f"/api/v1/accounts/{bob.id}/mute", a)).get_json()
    assert rel["muting"] is True and rel["following"] is True
    assert await (await inst.api("GET", "/api/v1/timelines/home", a)).get_json() == []
    assert [x["username"] for x in await (await inst.api("GET", "/api/v1/mutes", a)).get_json()] == ["bob"]
    await inst.api("POST", f"/api/v1/accounts/{bob.id}/unmute", a)
    rel = await (await inst.api("POST", f"/api/v1/accounts/{bob.id}/block", a)).get_json()
    assert rel["blocking"] is True and rel["following"] is False  # blocking ends the follow
    assert [x["username"] for x in await (await inst.api("GET", "/api/v1/blocks", a)).get_json()] == ["bob"]
    felix = await inst.remote_actor(person("https://mastodon.test/users/felix", "felix"), ALICE_PUBLIC_PEM)
    await inst.api("POST", f"/api/v1/accounts/{felix.id}/block", a)
    sent = orjson.loads((await Delivery.get(inbox=felix.inbox)).body)
    assert sent["type"] == "Block" and sent["object"] == felix.uri
    await inst.api("POST", f"/api/v1/accounts/{felix.id}/unblock", a)
    undo = [orjson.loads(d.body) for d in await Delivery.filter(inbox=felix.inbox).order_by("id")][-1]
    assert undo["type"] == "Undo" and undo["object"]["type"] == "Block"


async def test_markers_preferences_emojis_and_ai_filter(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    assert await (await inst.api("GET", "/api/v1/markers?timeline[]=home", a)).get_json() == {}
    saved = await (await inst.api("POST", "/api/v1/markers", a, json={"home": {"last_read_id": "123"}})).get_json()
    assert saved["home"]["last_read_id"] == "123" and saved["home"]["version"] == 0
    again = await (await inst.api("POST", "/api/v1/markers", a, json={"home": {"last_read_id": "456"}})).get_json()
    assert again["home"]["version"] == 1
    got = await (await inst.api("GET", "/api/v1/markers?timeline[]=home&timeline[]=notifications", a)).get_json()
    assert got["home"]["last_read_id"] == "456" and "notifications" not in got
    assert (await (await inst.api("GET", "/api/v1/preferences", a)).get_json())["posting:default:visibility"] == \
        "public"
    assert await (await inst.api("GET", "/api/v1/custom_emojis")).get_json() == []
    assert await (await inst.api("GET", "/api/v2/filters", a)).get_json() == []
    await inst.api("PATCH", "/api/v1/accounts/update_credentials", a, form={"fedi_ai_filter": "blur"})
    [f] = await (await inst.api("GET", "/api/v2/filters", a)).get_json()
    assert f["filter_action"] == "warn" and "AI" in f["title"]
