"""Pinned posts, as Mastodon does them: POST /api/v1/statuses/:id/pin and /unpin, `pinned` on a Status,
GET /api/v1/accounts/:id/statuses?pinned=true, the featured collection, Add/Remove out and in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from fedi.accounts import create_token
from fedi.ids import new_id
from fedi.models import Activity, Delivery, Follow, Post
from fedi.signatures import sign_headers
from fedi.urls import AS_PUBLIC
from schemas import validate
from tests.app.test_openapi import check
from tests.helpers import person, png_bytes
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM

AS2 = {"Accept": "application/activity+json"}
FELIX = "https://mastodon.test/users/felix"
KEY = f"{FELIX}#main-key"
LIMIT = "Validation failed: You have already pinned the maximum number of posts"


async def _post(inst, token, text, **kw):
    resp = await inst.api("POST", "/api/v1/statuses", token, json={"status": text, **kw})
    assert resp.status_code == 200, await resp.get_data(as_text=True)
    return await resp.get_json()


async def _act(inst, token, status_id, action, status=200):
    resp = await inst.api("POST", f"/api/v1/statuses/{status_id}/{action}", token)
    assert resp.status_code == status, (action, resp.status_code, await resp.get_data(as_text=True))
    return await resp.get_json()


async def _get(inst, path, token=None):
    resp = await inst.api("GET", path, token)
    assert resp.status_code == 200, (path, await resp.get_data(as_text=True))
    return await resp.get_json()


async def test_only_ones_own_public_and_unlisted_posts_and_at_most_five(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    _, b = await inst.user("bob")
    public = [await _post(inst, a, f"fox {n}") for n in range(6)]
    unlisted = await _post(inst, a, "quiet fox", visibility="unlisted")
    private = await _post(inst, a, "followers fox", visibility="private")
    direct = await _post(inst, a, "@bob a fox for you", visibility="direct")
    bobs = await _post(inst, b, "bob's fox")
    bobs_direct = await _post(inst, b, "just for me", visibility="direct")
    boost = await _act(inst, a, bobs["id"], "reblog")

    pinned = await _act(inst, a, public[0]["id"], "pin")
    assert pinned["id"] == public[0]["id"] and pinned["pinned"] is True
    check("/api/v1/statuses/{id}/pin", "post", pinned)
    assert (await _act(inst, a, public[0]["id"], "pin"))["pinned"] is True       # again: no change, no error
    errors = {boost["id"]: "Validation failed: A boost cannot be pinned",
              bobs["id"]: "Validation failed: Someone else's post cannot be pinned",
              direct["id"]: "Validation failed: Posts that are only visible to mentioned users cannot be pinned",
              private["id"]: "Validation failed: Non-public toot cannot be pinned"}
    for status_id, message in errors.items():
        assert (await _act(inst, a, status_id, "pin", 422)) == {"error": message}
    await _act(inst, a, bobs_direct["id"], "pin", 404)                              # not visible to alice
    await _act(inst, a, "12345", "pin", 404)

    for status in (unlisted, *public[1:4]):
        assert (await _act(inst, a, status["id"], "pin"))["pinned"] is True
    assert await Post.filter(account=alice, pinned_at__not_isnull=True).count() == 5
    assert await _act(inst, a, public[4]["id"], "pin", 422) == {"error": LIMIT}
    for version in ("v1", "v2"):                                                 # the limit, as Mastodon tells it
        instance = await _get(inst, f"/api/{version}/instance")
        assert instance["configuration"]["accounts"]["max_pinned_statuses"] == 5
    assert (await _act(inst, a, public[0]["id"], "pin"))["pinned"] is True       # re-pinning is not over the limit

    assert (await _act(inst, a, public[0]["id"], "unpin"))["pinned"] is False
    assert (await _act(inst, a, public[0]["id"], "unpin"))["pinned"] is False    # not pinned: a no-op
    assert (await _act(inst, a, public[4]["id"], "pin"))["pinned"] is True
    # a deleted post no longer counts
    assert (await inst.api("DELETE", f"/api/v1/statuses/{public[1]['id']}", a)).status_code == 200
    assert (await _act(inst, a, public[5]["id"], "pin"))["pinned"] is True
    # unpinning someone else's post changes nothing, and bob never sees `pinned`
    assert "pinned" not in await _act(inst, b, public[2]["id"], "unpin")
    assert await Post.exists(id=int(public[2]["id"]), pinned_at__not_isnull=True)


async def test_pin_needs_a_token_with_write_accounts(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    status = await _post(inst, a, "a fox")
    await _act(inst, None, status["id"], "pin", 401)
    for scope in ("read", "write:statuses", "read:accounts"):
        await _act(inst, await create_token(alice, scope), status["id"], "pin", 403)
    await _act(inst, await create_token(alice, "write:accounts"), status["id"], "pin")
    await _act(inst, await create_token(alice, "write"), status["id"], "unpin")


async def test_pinned_listing_newest_pin_first_and_pinned_only_for_the_author(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    _, b = await inst.user("bob")
    first, second, third = [await _post(inst, a, f"fox {n}") for n in range(3)]
    private = await _post(inst, a, "followers fox", visibility="private")
    await _act(inst, a, third["id"], "pin")
    await _act(inst, a, first["id"], "pin")
    path = f"/api/v1/accounts/{alice.id}/statuses"
    for token in (None, a, b):
        listed = await _get(inst, f"{path}?pinned=true", token)
        assert [s["id"] for s in listed] == [first["id"], third["id"]]          # newest pin first
        check("/api/v1/accounts/{id}/statuses", "get", listed)
    assert [s["id"] for s in await _get(inst, f"{path}?pinned=true&limit=1", a)] == [first["id"]]
    assert [s["id"] for s in await _get(inst, f"{path}?pinned=true&max_id={first['id']}", a)] == []
    assert len(await _get(inst, path, a)) == 4                                    # the profile is unchanged

    mine = {s["id"]: s for s in await _get(inst, path, a)}
    assert [mine[s["id"]]["pinned"] for s in (first, second, third)] == [True, False, True]
    assert "pinned" not in mine[private["id"]]                                   # cannot be pinned
    for token in (None, b):
        assert all("pinned" not in s for s in await _get(inst, path, token))
        assert "pinned" not in await _get(inst, f"/api/v1/statuses/{first['id']}", token)
    assert (await _get(inst, f"/api/v1/statuses/{first['id']}", a))["pinned"] is True

    await _act(inst, a, first["id"], "unpin")
    assert [s["id"] for s in await _get(inst, f"{path}?pinned=true", a)] == [third["id"]]


async def _upload(inst, token):
    from io import BytesIO

    from quart.datastructures import FileStorage
    files = {"file": FileStorage(BytesIO(png_bytes(120, 80)), filename="fox.png", content_type="image/png")}
    resp = await inst.client.post("/api/v2/media", headers={"Authorization": f"Bearer {token}"}, files=files,
                                  form={"description": "a fox"})
    return (await resp.get_json())["id"]


async def test_featured_collection_embeds_the_pinned_notes(app_ctx):
    inst = app_ctx
    _, a = await inst.user("alice")
    url = "https://fedi.test/users/alice/collections/featured"
    actor = await (await inst.client.get("/users/alice", headers=AS2)).get_json()
    assert actor["featured"] == url
    empty = await (await inst.client.get("/users/alice/collections/featured", headers=AS2)).get_json()
    assert (empty["id"], empty["type"], empty["totalItems"], empty["orderedItems"]) == (
        url, "OrderedCollection", 0, [])

    with_image = await _post(inst, a, "a fox in snow", media_ids=[await _upload(inst, a)])
    plain = await _post(inst, a, "another fox", visibility="unlisted")
    await _post(inst, a, "not pinned")
    await _act(inst, a, with_image["id"], "pin")
    await _act(inst, a, plain["id"], "pin")
    resp = await inst.client.get("/users/alice/collections/featured", headers=AS2)
    assert resp.content_type.startswith("application/activity+json")
    doc = await resp.get_json()
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert doc["totalItems"] == 2 and "first" not in doc
    assert [n["id"] for n in doc["orderedItems"]] == [plain["uri"], with_image["uri"]]
    for note in doc["orderedItems"]:
        served = await (await inst.client.get(note["id"], headers=AS2)).get_json()
        assert note == {k: v for k, v in served.items() if k != "@context"}    # the whole Note, as served
        validate("outbound", "note", note)
    assert doc["orderedItems"][1]["attachment"][0]["name"] == "a fox"

    # a deleted pinned post leaves the collection
    await inst.api("DELETE", f"/api/v1/statuses/{plain['id']}", a)
    doc = await (await inst.client.get("/users/alice/collections/featured", headers=AS2)).get_json()
    assert [n["id"] for n in doc["orderedItems"]] == [with_image["uri"]]


async def test_pin_and_unpin_send_add_and_remove_to_the_followers(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    await inst.remote_actor(person("https://other.test/users/olga", "olga"), ALICE_PUBLIC_PEM)  # not a follower
    await Follow.create(uri=f"{FELIX}#follows/1", follower=felix, target=alice, accepted=True)
    status = await _post(inst, a, "a fox")
    await Delivery.all().delete()                                                # the Create

    await _act(inst, a, status["id"], "pin")
    await _act(inst, a, status["id"], "pin")                                     # already pinned: nothing sent
    rows = await Delivery.all()
    assert [(r.inbox, r.post_id_ref, r.state) for r in rows] == [
        ("https://mastodon.test/inbox", int(status["id"]), "pending")]
    add = orjson.loads(rows[0].body)
    validate("outbound", "add", add)
    assert {k: v for k, v in add.items() if k not in ("@context", "id")} == {
        "type": "Add", "actor": alice.uri, "object": status["uri"],
        "target": "https://fedi.test/users/alice/collections/featured"}
    assert add["id"].startswith(f"{alice.uri}#add/") and rows[0].activity_uri == add["id"]

    await _act(inst, a, status["id"], "unpin")
    await _act(inst, a, status["id"], "unpin")                                   # not pinned: nothing sent
    remove = orjson.loads((await Delivery.filter(activity_uri__contains="#remove/")).pop().body)
    validate("outbound", "remove", remove)
    assert (remove["type"], remove["object"], remove["target"]) == ("Remove", status["uri"], add["target"])
    assert await Delivery.all().count() == 2
    assert not await Activity.filter(type__in=["Add", "Remove"]).exists()       # not stored, not in the outbox


async def _deliver_at(inst, doc, when):
    """POST to the shared inbox, signed by felix with the Date `when`."""
    raw = orjson.dumps(doc)
    headers = sign_headers("POST", f"{inst.cfg.base_url}/inbox", KEY, ALICE_PRIVATE_PEM, raw,
                           {"Content-Type": "application/activity+json"}, now=when)
    resp = await inst.client.post("/inbox", data=raw, headers=headers)
    assert resp.status_code == 202, await resp.get_data(as_text=True)


async def test_remote_add_and_remove_pin_and_unpin_a_stored_remote_post(app_ctx):
    inst = app_ctx
    alice, a = await inst.user("alice")
    doc = {**person(FELIX, "felix"), "featured": f"{FELIX}/collections/featured"}
    felix = await inst.remote_actor(doc, ALICE_PUBLIC_PEM)
    assert felix.featured_url == f"{FELIX}/collections/featured"
    note = await Post.create(id=new_id(), uri=f"{FELIX}/statuses/1", account=felix, local=False, content="<p>hi</p>",
                             visibility="public", to=[AS_PUBLIC], cc=[], published=datetime.now(UTC))
    local = await _post(inst, a, "alice's own")
    # as Mastodon's AddSerializer sends it: no id, the post by IRI
    add = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Add", "actor": FELIX,
           "object": note.uri, "target": felix.featured_url}
    remove = {**add, "type": "Remove"}
    now = datetime.now(UTC)
    path = f"/api/v1/accounts/{felix.id}/statuses?pinned=true"

    await _deliver_at(inst, {**add, "target": felix.followers_url}, now)         # not its featured collection
    await _deliver_at(inst, {**add, "object": local["uri"]}, now)                # not its post
    await _deliver_at(inst, {**add, "object": f"{FELIX}/statuses/404"}, now)     # a post fedi does not have
    assert await Post.filter(pinned_at__not_isnull=True).count() == 0

    await _deliver_at(inst, add, now)
    assert [s["uri"] for s in await _get(inst, path, a)] == [note.uri]
    await _deliver_at(inst, remove, now + timedelta(seconds=1))
    assert await _get(inst, path, a) == []
    await _deliver_at(inst, add, now + timedelta(seconds=2))                     # pinned again: the same body
    assert [s["uri"] for s in await _get(inst, path, a)] == [note.uri]
    await _deliver_at(inst, remove, now + timedelta(seconds=1))                  # a replay of the first Remove
    assert [s["uri"] for s in await _get(inst, path, a)] == [note.uri]


async def test_remote_add_from_an_actor_cached_before_featured_was_stored(app_ctx):
    inst = app_ctx
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)     # no `featured` in its document
    assert felix.featured_url is None
    note = await Post.create(id=new_id(), uri=f"{FELIX}/statuses/1", account=felix, local=False, content="<p>hi</p>",
                             visibility="public", to=[AS_PUBLIC], cc=[], published=datetime.now(UTC))
    add = {"type": "Add", "actor": FELIX, "object": note.uri}
    now = datetime.now(UTC)
    for target in (felix.followers_url, felix.outbox, "https://elsewhere.test/users/felix/collections/featured"):
        await _deliver_at(inst, {**add, "target": target}, now)
    assert (await Post.get(id=note.id)).pinned_at is None
    await _deliver_at(inst, {**add, "target": f"{FELIX}/collections/featured"}, now)
    assert (await Post.get(id=note.id)).pinned_at is not None


async def test_pin_from_the_post_page_and_the_pinned_posts_on_the_profile(app_ctx):
    from tests.app.test_pages import CSRF_RE, api_post, page, sign_in
    from tests.app.test_pages import person as local_person
    inst = app_ctx
    alice, token = await local_person(inst)
    await local_person(inst, "bob")
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{FELIX}#follows/1", follower=felix, target=alice, accepted=True)
    old = await api_post(inst, token, alt="old fox")
    new = await api_post(inst, token, alt="new fox")
    private = await api_post(inst, token, alt="hidden fox", visibility="private")
    assert 'id="pinned-heading"' not in await page(inst, "/@alice")

    await sign_in(inst)
    html = await page(inst, f"/@alice/{old['id']}")
    assert f'action="/posts/{old["id"]}/pin"' in html and "Pin to profile</button>" in html
    assert f'/posts/{private["id"]}/pin' not in await page(inst, f"/@alice/{private['id']}")   # cannot be pinned
    csrf_token = CSRF_RE.search(html).group(1)
    resp = await inst.client.post(f"/posts/{old['id']}/pin", form={"csrf_token": csrf_token})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/@alice/{old['id']}"
    html = await page(inst, f"/@alice/{old['id']}")
    assert f'action="/posts/{old["id"]}/unpin"' in html and "Pinned<span" in html
    assert "Pinned to your profile." in html
    [add] = await Delivery.filter(activity_uri__contains="#add/")               # the Add, as from the API
    assert (add.inbox, orjson.loads(add.body)["object"]) == ("https://mastodon.test/inbox", old["uri"])

    # the profile starts with the pinned posts, for everyone
    await inst.client.post(f"/posts/{new['id']}/pin", form={"csrf_token": csrf_token})
    await inst.client.post("/logout", form={"csrf_token": csrf_token})
    await sign_in(inst, "bob")
    profile = await page(inst, "/@alice")
    pinned = profile[profile.index('id="pinned-heading"'):profile.index('id="posts-heading"')]
    assert pinned.index('alt="new fox"') < pinned.index('alt="old fox"')          # newest pin first
    assert 'id="pinned-heading"' not in await page(inst, f"/@alice?max_id={new['id']}")   # only on the first page
    # not the author: no pin button, and the route refuses with Mastodon's message
    html = await page(inst, f"/@alice/{old['id']}")
    assert "/unpin" not in html and "Pin to profile" not in html
    bob_csrf = CSRF_RE.search(html).group(1)
    await inst.client.post(f"/posts/{old['id']}/unpin", form={"csrf_token": bob_csrf})
    assert await Post.exists(id=int(old["id"]), pinned_at__not_isnull=True)
    resp = await inst.client.post(f"/posts/{old['id']}/pin", form={"csrf_token": bob_csrf})
    assert resp.status_code == 302
    assert "Someone else&#39;s post cannot be pinned." in await page(inst, f"/@alice/{old['id']}")


async def test_pins_sent_at_once_still_stop_at_five(app_ctx):
    """Six pin requests at the same moment (two apps, a double tap): five pinned, one refused."""
    import asyncio
    inst = app_ctx
    alice, a = await inst.user("alice")
    posts = [await _post(inst, a, f"fox {n}") for n in range(6)]
    answers = await asyncio.gather(*(inst.api("POST", f"/api/v1/statuses/{p['id']}/pin", a) for p in posts))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [422]
    assert await Post.filter(account=alice, pinned_at__not_isnull=True).count() == 5
