"""What Mastodon apps call on start-up and on common screens (fedi/api/compat.py, fedi/api/grouped.py):
favourites, account search, familiar followers, conversations, hashtags, the instance's peers and
activity, grouped notifications, and the empty answers where fedi has no such feature."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fedi.accounts import create_token
from fedi.admin import block_domain
from fedi.models import Like, Notification, Post
from tests.helpers import person
from tests.keys import ALICE_PUBLIC_PEM


def links(resp) -> dict[str, str]:
    """rel -> path?query of a Link header."""
    out = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', resp.headers.get("Link", "")):
        parts = urlsplit(url)
        out[rel] = f"{parts.path}?{parts.query}"
    return out


async def get(inst, path, token=None, status=200):
    resp = await inst.api("GET", path, token)
    assert resp.status_code == status, (path, resp.status_code, await resp.get_data(as_text=True))
    return await resp.get_json()


async def post_status(inst, token, text, **kw):
    resp = await inst.api("POST", "/api/v1/statuses", token, json={"status": text, **kw})
    assert resp.status_code == 200, await resp.get_data(as_text=True)
    return await resp.get_json()


async def test_favourites_newest_like_first_paginated_by_like(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    _, b = await inst.user("bob")
    s1, s2, s3 = [(await post_status(inst, a, f"image {i}"))["id"] for i in (1, 2, 3)]
    for sid in (s2, s1, s3):                  # liked in this order: the list follows the likes, not the posts
        await inst.api("POST", f"/api/v1/statuses/{sid}/favourite", b)
    likes = {str(p): i for i, p in await Like.all().values_list("id", "post_id")}
    full = await get(inst, "/api/v1/favourites", b)
    assert [s["id"] for s in full] == [s3, s1, s2]
    assert all(s["favourited"] is True and s["account"]["username"] == "alice" for s in full)

    first = await inst.api("GET", "/api/v1/favourites?limit=2", b)
    assert [s["id"] for s in await first.get_json()] == [s3, s1]
    rel = links(first)
    assert parse_qs(urlsplit(rel["next"]).query) == {"limit": ["2"], "max_id": [str(likes[s1])]}
    assert parse_qs(urlsplit(rel["prev"]).query) == {"limit": ["2"], "min_id": [str(likes[s3])]}
    second = await inst.api("GET", rel["next"], b)
    assert [s["id"] for s in await second.get_json()] == [s2]
    assert [s["id"] for s in await get(inst, links(second)["prev"], b)] == [s3, s1]
    assert [s["id"] for s in await get(inst, f"/api/v1/favourites?since_id={likes[s1]}", b)] == [s3]

    await inst.api("DELETE", f"/api/v1/statuses/{s1}", a)
    assert [s["id"] for s in await get(inst, "/api/v1/favourites", b)] == [s3, s2]
    assert await get(inst, "/api/v1/favourites", a) == []        # alice liked nothing

    await get(inst, "/api/v1/favourites", status=401)
    await get(inst, "/api/v1/favourites", await create_token(alice, "read:statuses"), status=403)
    assert await get(inst, "/api/v1/favourites", await create_token(alice, "read:favourites")) == []
    assert await get(inst, "/api/v1/favourites", await create_token(alice, "read")) == []


async def test_account_search(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    await inst.user("bobby", display_name="Robert")
    bob, _ = await inst.user("bob")
    felix = await inst.remote_actor(person("https://mastodon.test/users/felix", "felix"), ALICE_PUBLIC_PEM)

    def names(docs):
        return [d["acct"] for d in docs]

    assert names(await get(inst, "/api/v1/accounts/search?q=bob", a)) == ["bob", "bobby"]   # exact username first
    assert names(await get(inst, "/api/v1/accounts/search?q=robert", a)) == ["bobby"]        # by display name
    assert names(await get(inst, "/api/v1/accounts/search?q=bob&limit=1", a)) == ["bobby"]  # (by id, then exact)
    assert names(await get(inst, "/api/v1/accounts/search?q=bob&offset=1", a)) == ["bob"]
    assert names(await get(inst, "/api/v1/accounts/search?q=@felix@mastodon.test", a)) == ["felix@mastodon.test"]
    assert names(await get(inst, "/api/v1/accounts/search?q=bob@fedi.test", a)) == ["bob"]
    # resolve=true on a known, fresh account finds it without asking its server
    found = await get(inst, "/api/v1/accounts/search?q=felix@mastodon.test&resolve=true", a)
    assert [d["id"] for d in found] == [str(felix.id)]
    assert found[0]["url"] == "https://mastodon.test/@felix" and "followers_count" in found[0]
    assert await get(inst, "/api/v1/accounts/search?q=nobody", a) == []
    assert await get(inst, "/api/v1/accounts/search?q=", a) == []

    await inst.api("POST", f"/api/v1/accounts/{bob.id}/follow", a)
    assert names(await get(inst, "/api/v1/accounts/search?q=bob&following=true", a)) == ["bob"]
    assert names(await get(inst, "/api/v1/accounts/search?q=felix@mastodon.test&resolve=true&following=true",
                           a)) == []
    # the same account part answers GET /api/v2/search
    v2 = await get(inst, "/api/v2/search?q=bob&type=accounts", a)
    assert names(v2["accounts"]) == ["bob", "bobby"] and v2["statuses"] == []

    await get(inst, "/api/v1/accounts/search?q=bob", status=401)
    await get(inst, "/api/v1/accounts/search?q=bob", await create_token(alice, "read:statuses"), status=403)


async def test_familiar_followers(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    users = {name: await inst.user(name) for name in ("bob", "carol", "dave", "eve")}
    ids = {name: acc.id for name, (acc, _) in users.items()}

    async def follow(who, whom):
        resp = await inst.api("POST", f"/api/v1/accounts/{ids[whom]}/follow", users[who][1] if who != "alice" else a)
        assert (await resp.get_json())["following"] is True

    for whom in ("bob", "carol"):
        await follow("alice", whom)
    for who in ("bob", "carol", "eve"):
        await follow(who, "dave")
    got = await get(inst, f"/api/v1/accounts/familiar_followers?id[]={ids['dave']}&id[]={ids['eve']}", a)
    assert [g["id"] for g in got] == [str(ids["dave"]), str(ids["eve"])]
    assert [x["username"] for x in got[0]["accounts"]] == ["bob", "carol"]      # not eve: alice does not follow her
    assert got[1]["accounts"] == []

    await get(inst, f"/api/v1/accounts/familiar_followers?id={ids['dave']}", status=401)
    await get(inst, f"/api/v1/accounts/familiar_followers?id={ids['dave']}", await create_token(alice, "read:accounts"),
              status=403)
    assert len(await get(inst, f"/api/v1/accounts/familiar_followers?id={ids['dave']}",
                         await create_token(alice, "follow"))) == 1


EMPTY = ("/api/v1/lists", "/api/v1/announcements", "/api/v1/followed_tags", "/api/v1/featured_tags",
         "/api/v1/endorsements", "/api/v1/suggestions", "/api/v2/suggestions", "/api/v1/domain_blocks",
         "/api/v1/scheduled_statuses", "/api/v1/notifications/requests")


async def test_empty_answers_for_features_fedi_does_not_have(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    for path in (*EMPTY, f"/api/v1/accounts/{alice.id}/lists"):
        assert await get(inst, path, a) == [], path
        await get(inst, path, status=401)
    for path in (f"/api/v1/accounts/{alice.id}/featured_tags", f"/api/v1/accounts/{alice.id}/endorsements",
                 "/api/v1/trends/links"):
        assert await get(inst, path) == [] and await get(inst, path, a) == [], path     # public, as in Mastodon
    await get(inst, "/api/v1/accounts/404/lists", a, status=404)
    await get(inst, "/api/v1/accounts/404/featured_tags", status=404)
    # each with Mastodon's scope
    scoped = {"/api/v1/lists": "read:lists", f"/api/v1/accounts/{alice.id}/lists": "read:lists",
              "/api/v1/followed_tags": "read:follows", "/api/v1/featured_tags": "read:accounts",
              "/api/v1/endorsements": "read:accounts", "/api/v2/suggestions": "read:accounts",
              "/api/v1/domain_blocks": "read:blocks", "/api/v1/scheduled_statuses": "read:statuses",
              "/api/v1/notifications/requests": "read:notifications"}
    for path, scope in scoped.items():
        assert await get(inst, path, await create_token(alice, scope)) == [], path
        other = "read:bookmarks"
        await get(inst, path, await create_token(alice, other), status=403)
    assert await get(inst, "/api/v1/followed_tags", await create_token(alice, "follow")) == []
    assert await get(inst, "/api/v1/announcements", await create_token(alice, "read")) == []
    await get(inst, "/api/v1/announcements", await create_token(alice, "write"), status=403)


async def test_posts_not_pinned_are_not_listed_as_pinned(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    await post_status(inst, a, "not pinned")
    assert len(await get(inst, f"/api/v1/accounts/{alice.id}/statuses", a)) == 1
    assert await get(inst, f"/api/v1/accounts/{alice.id}/statuses?pinned=true", a) == []


async def test_instance_peers_activity_and_rules(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    await inst.user("bob")
    await inst.remote_actor(person("https://mastodon.test/users/felix", "felix"), ALICE_PUBLIC_PEM)
    await inst.remote_actor(person("https://pixel.example/users/pia", "pia"), ALICE_PUBLIC_PEM)
    await inst.remote_actor(person("https://bad.example/users/mallory", "mallory"), ALICE_PUBLIC_PEM)
    await block_domain("bad.example")
    assert await get(inst, "/api/v1/instance/peers") == ["mastodon.test", "pixel.example"]

    now = await post_status(inst, a, "this week")
    old = await post_status(inst, a, "three weeks ago")
    await Post.filter(id=int(old["id"])).update(published=datetime.now(UTC) - timedelta(weeks=3))
    await inst.api("POST", f"/api/v1/statuses/{now['id']}/reblog", a)     # a boost is not a status written
    await get(inst, "/api/v1/accounts/verify_credentials", a)             # alice signs in and uses her token
    weeks = await get(inst, "/api/v1/instance/activity")
    assert len(weeks) == 12 and all(set(w) == {"week", "statuses", "logins", "registrations"} for w in weeks)
    starts = [datetime.fromtimestamp(int(w["week"]), UTC) for w in weeks]
    assert all(s.weekday() == 0 and s.hour == 0 for s in starts)
    assert [starts[i] - starts[i + 1] for i in range(11)] == [timedelta(weeks=1)] * 11
    assert starts[0] <= datetime.now(UTC) < starts[0] + timedelta(weeks=1)
    this_week = weeks[0]
    assert (this_week["statuses"], this_week["registrations"], this_week["logins"]) == ("1", "2", "2")
    assert weeks[3]["statuses"] == "1" and weeks[3]["registrations"] == "0"   # (bob's token counts as a login)
    assert sum(int(w["statuses"]) for w in weeks) == 2

    assert await get(inst, "/api/v1/instance/rules") == []
    described = await get(inst, "/api/v1/instance/extended_description")
    assert set(described) == {"updated_at", "content"} and described["content"].startswith("<p>")
    assert await get(inst, "/api/v1/instance/translation_languages") == {}


async def test_hashtag(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    _, b = await inst.user("bob")
    await post_status(inst, a, "#owls at night")
    await post_status(inst, a, "more #Owls")
    await post_status(inst, b, "#owls too")
    await post_status(inst, b, "#owls kept to followers", visibility="private")
    tag = await get(inst, "/api/v1/tags/owls")
    assert tag["name"] == "owls" and tag["url"] == "https://fedi.test/tags/owls" and tag["following"] is False
    assert len(tag["history"]) == 7
    assert (tag["history"][0]["uses"], tag["history"][0]["accounts"]) == ("3", "2")
    assert all(h["uses"] == "0" for h in tag["history"][1:])
    days = [int(h["day"]) for h in tag["history"]]
    assert [days[i] - days[i + 1] for i in range(6)] == [86400] * 6
    assert (await get(inst, "/api/v1/tags/unused", a))["history"][0]["uses"] == "0"
    await get(inst, "/api/v1/tags/no-such!", status=404)


async def test_conversations(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    bob, b = await inst.user("bob")
    carol, c = await inst.user("carol")
    await post_status(inst, a, "public, not a conversation")
    first = await post_status(inst, a, "@bob just us", visibility="direct")
    reply = await post_status(inst, b, "@alice indeed", visibility="direct", in_reply_to_id=first["id"])
    other = await post_status(inst, a, "@carol hello", visibility="direct")

    mine = await inst.api("GET", "/api/v1/conversations", a)
    convs = await mine.get_json()
    assert [(x["id"], x["last_status"]["id"]) for x in convs] == [(other["id"], other["id"]),
                                                                 (first["id"], reply["id"])]
    assert [[p["username"] for p in x["accounts"]] for x in convs] == [["carol"], ["bob"]]
    assert all(x["unread"] is False for x in convs)
    [bobs] = await get(inst, "/api/v1/conversations", b)
    assert bobs["id"] == first["id"] and [p["username"] for p in bobs["accounts"]] == ["alice"]
    assert bobs["last_status"]["visibility"] == "direct"
    assert [x["id"] for x in await get(inst, "/api/v1/conversations", c)] == [other["id"]]

    page1 = await inst.api("GET", "/api/v1/conversations?limit=1", a)
    assert [x["id"] for x in await page1.get_json()] == [other["id"]]
    page2 = await inst.api("GET", links(page1)["next"], a)
    assert [x["id"] for x in await page2.get_json()] == [first["id"]]
    assert [x["id"] for x in await get(inst, links(page2)["prev"], a)] == [other["id"]]
    assert await get(inst, links(page2)["next"], a) == []

    read = await inst.api("POST", f"/api/v1/conversations/{first['id']}/read", b)
    assert read.status_code == 200 and (await read.get_json())["last_status"]["id"] == reply["id"]
    assert (await inst.api("POST", f"/api/v1/conversations/{first['id']}/read", c)).status_code == 404
    await get(inst, "/api/v1/conversations", status=401)
    await get(inst, "/api/v1/conversations", await create_token(bob, "read:notifications"), status=403)


async def test_grouped_notifications(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    bob, b = await inst.user("bob")
    carol, c = await inst.user("carol")
    status = await post_status(inst, a, "an owl")
    await inst.api("POST", f"/api/v1/statuses/{status['id']}/favourite", b)
    await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow", c)
    await inst.api("POST", f"/api/v1/statuses/{status['id']}/favourite", c)
    ids = [str(i) for i in await Notification.filter(account=alice).order_by("-id").values_list("id", flat=True)]

    resp = await inst.api("GET", "/api/v2/notifications", a)
    body = await resp.get_json()
    assert set(body) == {"accounts", "statuses", "notification_groups"}
    groups = body["notification_groups"]
    assert [g["type"] for g in groups] == ["favourite", "follow", "favourite"]
    assert [g["group_key"] for g in groups] == [f"ungrouped-{i}" for i in ids]
    assert [g["most_recent_notification_id"] for g in groups] == ids
    assert all(g["notifications_count"] == 1 and g["page_min_id"] == g["page_max_id"] for g in groups)
    assert [g["sample_account_ids"] for g in groups] == [[str(carol.id)], [str(carol.id)], [str(bob.id)]]
    assert [g["status_id"] for g in groups] == [status["id"], None, status["id"]]
    assert sorted(x["username"] for x in body["accounts"]) == ["bob", "carol"]      # each account once
    assert [s["id"] for s in body["statuses"]] == [status["id"]]

    page1 = await inst.api("GET", "/api/v2/notifications?limit=2", a)
    assert [g["most_recent_notification_id"] for g in (await page1.get_json())["notification_groups"]] == ids[:2]
    rest = await get(inst, links(page1)["next"], a)
    assert [g["most_recent_notification_id"] for g in rest["notification_groups"]] == ids[2:]
    only = await get(inst, "/api/v2/notifications?types[]=follow", a)
    assert [g["type"] for g in only["notification_groups"]] == ["follow"]
    from_bob = await get(inst, f"/api/v2/notifications?account_id={bob.id}", a)
    assert [g["sample_account_ids"] for g in from_bob["notification_groups"]] == [[str(bob.id)]]

    one = await get(inst, f"/api/v2/notifications/ungrouped-{ids[1]}", a)
    assert [g["type"] for g in one["notification_groups"]] == ["follow"] and one["statuses"] == []
    assert [x["username"] for x in await get(inst, f"/api/v2/notifications/ungrouped-{ids[1]}/accounts", a)] == \
        ["carol"]
    await get(inst, f"/api/v2/notifications/ungrouped-{ids[1]}", b, status=404)       # not bob's
    await get(inst, "/api/v2/notifications/favourite-1-2", a, status=404)

    assert await get(inst, "/api/v2/notifications/unread_count", a) == {"count": 3}
    assert await get(inst, "/api/v1/notifications/unread_count?limit=2", a) == {"count": 2}
    await inst.api("POST", "/api/v1/markers", a, json={"notifications": {"last_read_id": ids[1]}})
    assert await get(inst, "/api/v2/notifications/unread_count", a) == {"count": 1}
    dismissed = await inst.api("POST", f"/api/v2/notifications/ungrouped-{ids[0]}/dismiss", a)
    assert dismissed.status_code == 200 and await dismissed.get_json() == {}
    assert await get(inst, "/api/v2/notifications/unread_count", a) == {"count": 0}
    assert len((await get(inst, "/api/v2/notifications", a))["notification_groups"]) == 2

    policy = await get(inst, "/api/v2/notifications/policy", a)
    assert policy["for_not_following"] == "accept" and policy["summary"] == {
        "pending_requests_count": 0, "pending_notifications_count": 0}
    assert (await get(inst, "/api/v1/notifications/policy", a))["filter_not_following"] is False

    await get(inst, "/api/v2/notifications", status=401)
    await get(inst, "/api/v2/notifications/unread_count", await create_token(alice, "read:statuses"), status=403)
    assert (await get(inst, "/api/v2/notifications", await create_token(alice, "read:notifications")))[
        "notification_groups"]
    refused = await inst.api("POST", f"/api/v2/notifications/ungrouped-{ids[1]}/dismiss",
                             await create_token(alice, "read"))
    assert refused.status_code == 403
