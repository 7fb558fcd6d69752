"""The inbox, in process: real payloads from Mastodon and others, signed with fixed keys."""

from __future__ import annotations

import copy

import orjson

from fedi.models import Delivery, Follow, InboxItem, Like, Notification, Post
from tests.helpers import fixture, person
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM, BOB_PRIVATE_PEM

FELIX = "https://mastodon.madrid/users/felix"
KEY = f"{FELIX}#main-key"


async def _setup(inst):
    author, token = await inst.user("alice")
    await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    resp = await inst.api("POST", "/api/v1/statuses", token, json={"status": "a red fox #aiart"})
    status = await resp.get_json()
    return token, status


async def _count(inst, token, status_id, field):
    resp = await inst.api("GET", f"/api/v1/statuses/{status_id}", token)
    return (await resp.get_json())[field]


async def test_mastodon_like_counts_once_and_undo_removes_it(app_ctx):
    inst = app_ctx
    token, status = await _setup(inst)
    like = fixture("mastodon/like.json")
    like["object"] = status["uri"]  # retargeted at our post
    resp = await inst.deliver(like, KEY, ALICE_PRIVATE_PEM)
    assert resp.status_code == 202
    assert await _count(inst, token, status["id"], "favourites_count") == 1
    # the same activity again changes nothing
    assert (await inst.deliver(like, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "favourites_count") == 1
    notes = await (await inst.api("GET", "/api/v1/notifications", token)).get_json()
    assert [n["type"] for n in notes] == ["favourite"]
    assert notes[0]["account"]["acct"] == "felix@mastodon.madrid"
    undo = fixture("mastodon/undo_like.json")
    undo["object"]["id"] = like["id"]
    undo["object"]["object"] = status["uri"]
    assert (await inst.deliver(undo, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "favourites_count") == 0
    assert await Like.all().count() == 0


async def test_unsigned_forged_and_malformed_requests_change_nothing(app_ctx):
    inst = app_ctx
    token, status = await _setup(inst)
    like = fixture("mastodon/like.json")
    like["object"] = status["uri"]
    body = orjson.dumps(like)
    unsigned = await inst.client.post("/inbox", data=body, headers={"Content-Type": "application/activity+json"})
    assert unsigned.status_code == 401
    assert "error" in await unsigned.get_json()
    # signed with a key that is not felix's
    forged = await inst.deliver(like, KEY, BOB_PRIVATE_PEM)
    assert forged.status_code == 401
    # a body that does not match its Digest
    tampered = await inst.deliver(like, KEY, ALICE_PRIVATE_PEM, headers={"Digest": "SHA-256=AAAA"})
    assert tampered.status_code == 401
    # felix signing an activity that claims another actor
    spoof = dict(like, actor="https://mastodon.madrid/users/other", id="https://mastodon.madrid/x/1")
    assert (await inst.deliver(spoof, KEY, ALICE_PRIVATE_PEM)).status_code == 403
    bad = await inst.deliver({}, KEY, ALICE_PRIVATE_PEM, body=b"{not json")
    assert bad.status_code == 400 and "error" in await bad.get_json()
    missing = await inst.deliver({}, KEY, ALICE_PRIVATE_PEM, body=b'{"type": "Like"}')
    assert missing.status_code == 400
    huge = await inst.deliver({}, KEY, ALICE_PRIVATE_PEM, body=b" " * 1_000_001)
    assert huge.status_code == 413
    assert await _count(inst, token, status["id"], "favourites_count") == 0
    assert await InboxItem.all().count() == 0


async def test_follow_is_accepted_and_the_accept_is_queued(app_ctx):
    inst = app_ctx
    alice, _ = await inst.user("alice")
    await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{FELIX}#follows/9",
              "type": "Follow", "actor": FELIX, "object": alice.uri}
    assert (await inst.deliver(follow, KEY, ALICE_PRIVATE_PEM, "/users/alice/inbox")).status_code == 202
    row = await Follow.get(uri=follow["id"])
    assert row.accepted
    delivery = await Delivery.get(inbox="https://mastodon.madrid/users/felix/inbox")
    accept = orjson.loads(delivery.body)
    assert accept["type"] == "Accept" and accept["object"]["id"] == follow["id"]
    assert accept["actor"] == alice.uri
    followers = await (await inst.client.get("/users/alice/followers",
                                             headers={"Accept": "application/activity+json"})).get_json()
    assert followers["totalItems"] == 1


async def test_follow_of_locked_account_waits_for_approval(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice", manual=True)
    await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    follow = {"id": f"{FELIX}#follows/10", "type": "Follow", "actor": FELIX, "object": alice.uri}
    assert (await inst.deliver(follow, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert not (await Follow.get(uri=follow["id"])).accepted
    assert await Delivery.all().count() == 0
    notes = await (await inst.api("GET", "/api/v1/notifications", token)).get_json()
    assert notes[0]["type"] == "follow_request"


async def test_reply_boost_and_deletes(app_ctx):
    inst = app_ctx
    token, status = await _setup(inst)
    create = copy.deepcopy(fixture("mastodon/create_note_reply_mention.json"))
    note = create["object"]
    create["actor"] = FELIX
    create["id"] = f"{FELIX}/statuses/1/activity"
    note["id"] = f"{FELIX}/statuses/1"
    note["attributedTo"] = FELIX
    note["inReplyTo"] = status["uri"]
    assert (await inst.deliver(create, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "replies_count") == 1
    context = await (await inst.api("GET", f"/api/v1/statuses/{status['id']}/context", token)).get_json()
    assert [d["uri"] for d in context["descendants"]] == [note["id"]]
    announce = {"id": f"{FELIX}/statuses/2/activity", "type": "Announce", "actor": FELIX,
                "object": status["uri"], "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "published": "2026-11-01T10:00:00Z"}
    assert (await inst.deliver(announce, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "reblogs_count") == 1
    delete = {"id": f"{FELIX}/statuses/1#delete", "type": "Delete", "actor": FELIX,
              "object": {"id": note["id"], "type": "Tombstone"}}
    assert (await inst.deliver(delete, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "replies_count") == 0
    # a Delete of someone else's note is refused
    foreign = {"id": f"{FELIX}/d/2", "type": "Delete", "actor": FELIX, "object": status["uri"]}
    assert (await inst.deliver(foreign, KEY, ALICE_PRIVATE_PEM)).status_code == 403
    # the actor deletes itself: its boost goes, counts follow
    gone = {"id": f"{FELIX}#delete", "type": "Delete", "actor": FELIX, "object": FELIX}
    assert (await inst.deliver(gone, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await _count(inst, token, status["id"], "reblogs_count") == 0
    assert await Post.filter(account__uri=FELIX).count() == 0


async def test_unknown_type_is_accepted_and_ignored(app_ctx):
    inst = app_ctx
    await _setup(inst)
    doc = {"id": f"{FELIX}/move/1", "type": "Move", "actor": FELIX, "object": FELIX}
    assert (await inst.deliver(doc, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await InboxItem.all().count() == 0
    assert await Notification.all().count() == 0


async def test_concurrent_likes_are_batched_and_counted_exactly(app_ctx):
    """Many Likes at once (group commit): duplicates, replays and unknown posts all handled."""
    import asyncio
    inst = app_ctx
    _, token = await inst.user("alice")
    posts = [await (await inst.api("POST", "/api/v1/statuses", token, json={"status": f"p{i}"})).get_json()
             for i in range(2)]
    actors = [f"https://many.test/users/u{i}" for i in range(20)]
    for uri in actors:
        await inst.remote_actor(person(uri, uri.rsplit("/", 1)[1]), ALICE_PUBLIC_PEM)
    likes = []
    for uri in actors:
        for post in posts:
            likes.append({"id": f"{uri}#likes/{post['id']}", "type": "Like", "actor": uri, "object": post["uri"]})
        # the same actor liking the same post again under another id counts once
        likes.append({"id": f"{uri}#likes/again", "type": "Like", "actor": uri, "object": posts[0]["uri"]})
        likes.append({"id": f"{uri}#likes/nothing", "type": "Like", "actor": uri,
                      "object": "https://fedi.test/users/alice/statuses/1"})
    replays = likes[:10]
    results = await asyncio.gather(*(inst.deliver(doc, doc["actor"] + "#main-key", ALICE_PRIVATE_PEM)
                                     for doc in likes + replays))
    assert {r.status_code for r in results} == {202}
    for post in posts:
        assert await _count(inst, token, post["id"], "favourites_count") == 20
    assert await Like.all().count() == 40
    assert await Notification.filter(type="favourite").count() == 40
    assert await InboxItem.filter(type="Like").count() == len(likes)


async def test_remote_edits_keep_each_earlier_version_with_its_images(app_ctx):
    """Mastodon's Update of a Note: the history (API and page) lists the version it replaced, alt texts
    included; an Update that changes nothing a reader sees adds no version."""
    inst = app_ctx
    token, status = await _setup(inst)
    create = copy.deepcopy(fixture("mastodon/create_note_image.json"))
    note = create["object"]
    create["actor"] = note["attributedTo"] = FELIX
    create["id"], note["id"] = f"{FELIX}/statuses/7/activity", f"{FELIX}/statuses/7"
    note["inReplyTo"] = status["uri"]   # a reply to alice: stored here
    first_alt = note["attachment"][0].get("name") or ""
    assert (await inst.deliver(create, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    post = await Post.get(uri=note["id"])

    edited = copy.deepcopy(note)
    edited["content"] = "<p>Holidays are over.</p>"
    edited["attachment"][0]["name"] = "Old town square at night"
    edited["updated"] = "2026-11-20T10:00:00Z"
    update = {"id": f"{FELIX}/statuses/7#updates/1", "type": "Update", "actor": FELIX, "object": edited,
              "to": note["to"], "cc": note["cc"]}
    assert (await inst.deliver(update, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    history = await (await inst.api("GET", f"/api/v1/statuses/{post.id}/history", token)).get_json()
    assert len(history) == 2
    assert "Holidays almost finished" in history[0]["content"] and "Holidays are over" in history[1]["content"]
    assert [m["description"] for m in history[0]["media_attachments"]][0] == (first_alt or None)
    assert history[1]["media_attachments"][0]["description"] == "Old town square at night"
    assert history[0]["media_attachments"][0]["url"] == note["attachment"][0]["url"]

    again = copy.deepcopy(update)
    again["id"] = f"{FELIX}/statuses/7#updates/2"
    again["object"]["updated"] = "2026-11-20T11:00:00Z"   # nothing a reader sees has changed
    assert (await inst.deliver(again, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    history = await (await inst.api("GET", f"/api/v1/statuses/{post.id}/history", token)).get_json()
    assert len(history) == 2
