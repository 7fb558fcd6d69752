"""The Mastodon-compatible API subset, as an app would use it."""

from __future__ import annotations

import orjson

from fedi.models import Delivery, Follow
from schemas import validate
from tests.helpers import person, png_bytes
from tests.keys import ALICE_PUBLIC_PEM

AS2 = {"Accept": "application/activity+json"}


async def _upload(inst, token, description="a fox"):
    from io import BytesIO

    from quart.datastructures import FileStorage
    files = {"file": FileStorage(BytesIO(png_bytes(300, 200)), filename="fox.png", content_type="image/png")}
    return await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"},
                                  files=files, form={"description": description, "focus": "0.5,-0.25"})


async def test_post_with_media_is_served_as_a_note_with_the_image(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    resp = await _upload(inst, token)
    assert resp.status_code == 200
    media = await resp.get_json()
    assert media["type"] == "image" and media["description"] == "a fox"
    assert media["meta"]["original"]["width"] == 300 and media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    resp = await inst.api("POST", "/api/v1/statuses", token,
                          form={"status": "Fox #AIart", "media_ids[]": media["id"], "visibility": "public",
                                "sensitive": "1", "spoiler_text": "bright"})
    assert resp.status_code == 200, await resp.get_data()
    status = await resp.get_json()
    assert status["sensitive"] is True and status["spoiler_text"] == "bright"
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]
    assert status["tags"] == [{"name": "aiart", "url": "https://fedi.test/tags/aiart"}]
    note = await (await inst.client.get(status["uri"], headers=AS2)).get_json()
    validate("outbound", "note", note)
    image = note["attachment"][0]
    assert (image["width"], image["height"], image["focalPoint"]) == (300, 200, [0.5, -0.25])
    served = await inst.client.get(image["url"].replace("https://fedi.test", ""))
    assert served.status_code == 200 and served.content_type.startswith("image/webp")
    html = await inst.client.get(status["uri"], headers={"Accept": "text/html"})
    assert html.content_type.startswith("text/html") and 'alt="a fox"' in (await html.get_data(as_text=True))
    # the same media cannot be attached twice
    again = await inst.api("POST", "/api/v1/statuses", token, json={"status": "x", "media_ids": [media["id"]]})
    assert again.status_code == 422 and "error" in await again.get_json()


async def test_bad_input_gets_clear_errors(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", "nope")).status_code == 401
    bad_vis = await inst.api("POST", "/api/v1/statuses", token, json={"status": "x", "visibility": "loud"})
    assert bad_vis.status_code == 400 and "visibility" in (await bad_vis.get_json())["error"]
    empty = await inst.api("POST", "/api/v1/statuses", token, json={"status": "  "})
    assert empty.status_code == 400
    bad_bool = await inst.api("POST", "/api/v1/statuses", token, json={"status": "x", "sensitive": "maybe"})
    assert bad_bool.status_code == 400
    bad_json = await inst.api("POST", "/api/v1/statuses", token, data=b"{nope",
                              headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    from io import BytesIO

    from quart.datastructures import FileStorage
    html = {"file": FileStorage(BytesIO(b"<html>hi</html>"), filename="x.png", content_type="image/png")}
    not_image = await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"}, files=html)
    assert not_image.status_code == 422 and "error" in await not_image.get_json()
    assert (await inst.api("GET", "/api/v1/statuses/123", token)).status_code == 404
    assert (await inst.api("GET", "/api/v1/statuses/abc", token)).status_code == 404
    statuses = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    assert statuses == []


async def test_interactions_counts_timelines_and_pagination(app_ctx):
    inst = app_ctx
    alice, a_token = await inst.user("alice")
    bob, b_token = await inst.user("bob")
    follow = await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow/", b_token)  # trailing slash too
    assert (await follow.get_json())["following"] is True
    ids = []
    for n in range(5):
        resp = await inst.api("POST", "/api/v1/statuses", a_token, json={"status": f"post {n}"})
        ids.append((await resp.get_json())["id"])
    home = await inst.api("GET", "/api/v1/timelines/home?limit=2", b_token)
    page1 = await home.get_json()
    assert [s["id"] for s in page1] == ids[::-1][:2]
    assert 'rel="next"' in home.headers["Link"]
    page2 = await (await inst.api("GET", f"/api/v1/timelines/home?limit=2&max_id={page1[-1]['id']}",
                                  b_token)).get_json()
    assert [s["id"] for s in page2] == ids[::-1][2:4]
    newer = await (await inst.api("GET", f"/api/v1/timelines/home?min_id={ids[2]}", b_token)).get_json()
    assert [s["id"] for s in newer] == [ids[4], ids[3]]
    target = ids[0]
    fav = await (await inst.api("POST", f"/api/v1/statuses/{target}/favourite", b_token)).get_json()
    assert fav["favourites_count"] == 1 and fav["favourited"] is True
    await inst.api("POST", f"/api/v1/statuses/{target}/favourite", b_token)  # twice is still once
    boost = await (await inst.api("POST", f"/api/v1/statuses/{target}/reblog", b_token)).get_json()
    assert boost["reblog"]["id"] == target and boost["reblog"]["reblogs_count"] == 1
    reply = await inst.api("POST", "/api/v1/statuses", b_token, json={"status": "@alice nice",
                                                                      "in_reply_to_id": target})
    assert (await reply.get_json())["in_reply_to_id"] == target
    got = await (await inst.api("GET", f"/api/v1/statuses/{target}", a_token)).get_json()
    assert (got["favourites_count"], got["reblogs_count"], got["replies_count"]) == (1, 1, 1)
    kinds = [n["type"] for n in await (await inst.api("GET", "/api/v1/notifications", a_token)).get_json()]
    assert sorted(kinds) == ["favourite", "follow", "mention", "reblog"]
    only = await (await inst.api("GET", "/api/v1/notifications?types[]=favourite", a_token)).get_json()
    assert [n["type"] for n in only] == ["favourite"]
    await inst.api("POST", f"/api/v1/statuses/{target}/unfavourite", b_token)
    await inst.api("POST", f"/api/v1/statuses/{target}/unreblog", b_token)
    got = await (await inst.api("GET", f"/api/v1/statuses/{target}", a_token)).get_json()
    assert (got["favourites_count"], got["reblogs_count"]) == (0, 0)
    public = await (await inst.api("GET", "/api/v1/timelines/public?local=true")).get_json()
    assert len(public) == 6
    followers = await (await inst.api("GET", f"/api/v1/accounts/{alice.id}/followers", a_token)).get_json()
    assert [a["username"] for a in followers] == ["bob"]
    following = await (await inst.api("GET", f"/api/v1/accounts/{bob.id}/following", a_token)).get_json()
    assert [a["username"] for a in following] == ["alice"]
    me = await (await inst.api("GET", "/api/v1/accounts/verify_credentials", a_token)).get_json()
    assert (me["followers_count"], me["statuses_count"]) == (1, 5)
    deleted = await inst.api("DELETE", f"/api/v1/statuses/{ids[1]}", a_token)
    assert (await deleted.get_json())["text"] == "post 1"
    assert (await inst.api("GET", f"/api/v1/statuses/{ids[1]}", a_token)).status_code == 404
    uri = (await deleted.get_json())["uri"]
    assert (await inst.client.get(uri, headers=AS2)).status_code == 410


async def test_edit_sends_update_and_locked_accounts_approve(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice", manual=True)
    felix = await inst.remote_actor(person("https://mastodon.test/users/felix", "felix"), ALICE_PUBLIC_PEM)
    await Follow.create(uri="https://mastodon.test/users/felix#follows/1", follower=felix, target=alice)
    pending = await (await inst.api("GET", "/api/v1/follow_requests", token)).get_json()
    assert [a["acct"] for a in pending] == ["felix@mastodon.test"]
    rel = await (await inst.api("POST", f"/api/v1/follow_requests/{felix.id}/authorize", token)).get_json()
    assert rel["followed_by"] is True
    accept = orjson.loads((await Delivery.get(activity_uri__contains="/accepts/")).body)
    assert accept["type"] == "Accept" and accept["object"]["id"] == "https://mastodon.test/users/felix#follows/1"
    status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "first"})).get_json()
    edited = await (await inst.api("PUT", f"/api/v1/statuses/{status['id']}", token,
                                   json={"status": "second"})).get_json()
    assert "second" in edited["content"] and edited["edited_at"]
    update = orjson.loads((await Delivery.filter(activity_uri__contains="#updates/").first()).body)
    assert update["type"] == "Update" and "second" in update["object"]["content"]
    validate("outbound", "update", update)
    profile = await (await inst.api("PATCH", "/api/v1/accounts/update_credentials", token,
                                    form={"display_name": "Alice A.", "locked": "false"})).get_json()
    assert profile["display_name"] == "Alice A." and profile["locked"] is False


async def test_discovery_documents(app_ctx):
    inst = app_ctx
    alice, _ = await inst.user("alice")
    for resource in ("acct:alice@fedi.test", "alice@fedi.test", alice.uri, "https://fedi.test/@alice"):
        resp = await inst.client.get(f"/.well-known/webfinger?resource={resource}")
        assert resp.status_code == 200, resource
        doc = await resp.get_json()
        assert doc["subject"] == "acct:alice@fedi.test"
        assert {"rel": "self", "type": "application/activity+json", "href": alice.uri} in doc["links"]
    assert (await inst.client.get("/.well-known/webfinger?resource=acct:bob@fedi.test")).status_code == 404
    assert (await inst.client.get("/.well-known/webfinger?resource=acct:alice@else.test")).status_code == 404
    assert (await inst.client.get("/.well-known/webfinger")).status_code == 400
    assert b"lrdd" in await (await inst.client.get("/.well-known/host-meta")).get_data()
    links = (await (await inst.client.get("/.well-known/nodeinfo")).get_json())["links"]
    assert links[0]["href"] == "https://fedi.test/nodeinfo/2.1"
    await inst.api("POST", "/api/v1/statuses", await _token(inst, alice), json={"status": "x"})
    info = await (await inst.client.get("/nodeinfo/2.1")).get_json()
    assert info["usage"]["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}
    assert info["usage"]["localPosts"] == 1 and info["protocols"] == ["activitypub"]
    actor = await (await inst.client.get("/users/alice", headers={
        "Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'})).get_json()
    validate("outbound", "actor", actor)
    assert actor["endpoints"]["sharedInbox"] == "https://fedi.test/inbox"
    page = await inst.client.get("/users/alice", headers={"Accept": "text/html"})
    assert page.content_type.startswith("text/html")
    instance_actor = await (await inst.client.get("/actor", headers=AS2)).get_json()
    assert instance_actor["type"] == "Application" and instance_actor["publicKey"]["publicKeyPem"]
    validate("outbound", "actor", instance_actor)
    featured = await inst.client.get("/actor/collections/featured", headers=AS2)
    assert (await featured.get_json())["totalItems"] == 0
    outbox = await (await inst.client.get("/users/alice/outbox", headers=AS2)).get_json()
    assert outbox["totalItems"] == 1
    first = await (await inst.client.get(outbox["first"].replace("https://fedi.test", ""), headers=AS2)).get_json()
    assert first["type"] == "OrderedCollectionPage" and first["orderedItems"][0]["type"] == "Create"
    for version in ("v1", "v2"):
        body = await (await inst.client.get(f"/api/{version}/instance")).get_json()
        assert body.get("uri", body.get("domain")) == "fedi.test"


async def _token(inst, account):
    from fedi.accounts import create_token
    return await create_token(account)


async def test_deleted_and_undone_things_leave_the_outbox(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    keep = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "keep #owls"})).get_json()
    gone = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "gone"})).get_json()
    boost = await (await inst.api("POST", f"/api/v1/statuses/{keep['id']}/reblog", token)).get_json()
    outbox = await (await inst.client.get("/users/alice/outbox?page=1", headers=AS2)).get_json()
    assert outbox["totalItems"] == 3
    await inst.api("DELETE", f"/api/v1/statuses/{gone['id']}", token)
    # deleting a boost undoes it
    await inst.api("DELETE", f"/api/v1/statuses/{boost['id']}", token)
    got = await (await inst.api("GET", f"/api/v1/statuses/{keep['id']}", token)).get_json()
    assert got["reblogs_count"] == 0 and got["reblogged"] is False
    outbox = await (await inst.client.get("/users/alice/outbox?page=1", headers=AS2)).get_json()
    assert outbox["totalItems"] == 1 and outbox["orderedItems"][0]["object"]["id"] == keep["uri"]
    page = await inst.client.get("/tags/owls", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "keep" in await page.get_data(as_text=True)


async def test_an_edit_addresses_newly_mentioned_people(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    felix = await inst.remote_actor(person("https://mastodon.test/users/felix", "felix"), ALICE_PUBLIC_PEM)
    status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "hello"})).get_json()
    await inst.api("PUT", f"/api/v1/statuses/{status['id']}", token,
                   json={"status": "hello @felix@mastodon.test"})
    update = orjson.loads((await Delivery.get(inbox=felix.shared_inbox)).body)
    assert update["type"] == "Update" and felix.uri in update["cc"]


async def test_rate_limits_answer_429_with_headers(app_ctx):
    from fedi.api.ratelimit import Limit
    inst = app_ctx
    _, token = await inst.user("alice")
    inst.state.limiter.api = Limit(5, 300.0)   # Mastodon's 300 per 5 minutes, scaled down
    seen = []
    for _ in range(6):
        resp = await inst.api("GET", "/api/v1/accounts/verify_credentials", token)
        seen.append((resp.status_code, resp.headers.get("X-RateLimit-Remaining")))
    assert seen[:5] == [(200, str(n)) for n in (4, 3, 2, 1, 0)]
    assert seen[5][0] == 429
    resp = await inst.api("GET", "/api/v1/accounts/verify_credentials", token)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert (await resp.get_json())["error"] == "Too many requests"
    # ActivityPub and discovery are not API calls
    assert (await inst.client.get("/.well-known/nodeinfo")).status_code == 200


async def test_files_that_are_not_what_they_claim_are_refused(app_ctx):
    from io import BytesIO

    from PIL import Image
    from quart.datastructures import FileStorage
    inst = app_ctx
    _, token = await inst.user("alice")
    buf = BytesIO()
    Image.new("RGB", (20, 20), "red").save(buf, "JPEG")
    jpeg = buf.getvalue()

    async def upload(data: bytes, name: str, ctype: str):
        files = {"file": FileStorage(BytesIO(data), filename=name, content_type=ctype)}
        return await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"}, files=files)

    bad = await upload(jpeg, "photo.png", "image/png")
    assert bad.status_code == 422
    assert (await bad.get_json())["error"] == "the file is JPEG, not PNG as its name ends in .png"
    bad = await upload(jpeg, "photo.jpg", "image/webp")
    assert bad.status_code == 422
    assert (await upload(jpeg, "photo.jpg", "image/jpeg")).status_code == 200
    assert (await upload(jpeg, "blob", "application/octet-stream")).status_code == 200
