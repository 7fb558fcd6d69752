"""Real payloads that Mastodon, Pixelfed, GoToSocial and Misskey publish (tests/fixtures/README.md
names each source), fed through the signed inbox. Where a payload points at someone else's post,
it is retargeted at ours; nothing else is changed."""

from __future__ import annotations

import copy

import pytest

from fedi.models import Account, Follow
from tests.helpers import fixture, person
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM


async def _sender(inst, actor_uri, name="someone", doc=None):
    return await inst.remote_actor(doc or person(actor_uri, name), ALICE_PUBLIC_PEM)


def _as_create(doc):
    if doc["type"] == "Create":
        return doc
    return {"@context": doc.get("@context", "https://www.w3.org/ns/activitystreams"),
            "id": doc["id"] + "/activity", "type": "Create", "actor": doc["attributedTo"],
            "to": doc.get("to", []), "cc": doc.get("cc", []), "object": doc}


@pytest.mark.parametrize("path", [
    "mastodon/create_note_image", "pixelfed/create_note_image", "gotosocial/note_image_hashtag",
    "gotosocial/create_note", "misskey/create_note", "misskey/note", "mastodon/create_note_mention_hashtag",
])
async def test_posts_from_followed_accounts_reach_the_home_timeline(app_ctx, path):
    inst = app_ctx
    alice, token = await inst.user("alice")
    create = _as_create(copy.deepcopy(fixture(f"{path}.json")))
    note = create["object"]
    sender = await _sender(inst, create["actor"])
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=sender, accepted=True)
    resp = await inst.deliver(create, sender.key_id, ALICE_PRIVATE_PEM)
    assert resp.status_code == 202, await resp.get_data()
    home = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    [status] = [s for s in home if s["uri"] == note["id"]]
    attachments = [a for a in (note.get("attachment") or []) if isinstance(a, dict)]
    assert len(status["media_attachments"]) == len([a for a in attachments
                                                    if str(a.get("mediaType", "image/")).startswith("image/")])
    for got, sent in zip(status["media_attachments"], attachments, strict=False):
        assert got["description"] == (sent.get("name") or sent.get("summary") or None)
        if sent.get("blurhash"):
            assert got["blurhash"] == sent["blurhash"]
    assert "<script" not in status["content"]
    assert status["account"]["acct"].startswith(sender.username)
    # delivered twice (retries happen), stored once
    await inst.deliver(create, sender.key_id, ALICE_PRIVATE_PEM)
    home = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    assert len([s for s in home if s["uri"] == note["id"]]) == 1


async def test_posts_nobody_here_asked_for_are_not_stored(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    create = fixture("mastodon/create_note_image.json")
    sender = await _sender(inst, create["actor"])
    assert (await inst.deliver(create, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    assert await (await inst.api("GET", "/api/v1/timelines/public")).get_json() == []


@pytest.mark.parametrize("path", ["mastodon/like", "misskey/like_custom_emoji_reaction",
                                  "mastodon/like_ld_signed"])
async def test_likes_from_each_server_count(app_ctx, path):
    inst = app_ctx
    _, token = await inst.user("alice")
    status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "hi"})).get_json()
    like = copy.deepcopy(fixture(f"{path}.json"))
    like["object"] = status["uri"]
    sender = await _sender(inst, like["actor"])
    assert (await inst.deliver(like, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    got = await (await inst.api("GET", f"/api/v1/statuses/{status['id']}", token)).get_json()
    assert got["favourites_count"] == 1


@pytest.mark.parametrize("path", ["gotosocial/announce", "pixelfed/announce", "mastodon/announce"])
async def test_boosts_of_our_post_count(app_ctx, path):
    inst = app_ctx
    _, token = await inst.user("alice")
    status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "hi"})).get_json()
    announce = copy.deepcopy(fixture(f"{path}.json"))
    announce["object"] = status["uri"]
    sender = await _sender(inst, announce["actor"])
    assert (await inst.deliver(announce, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    got = await (await inst.api("GET", f"/api/v1/statuses/{status['id']}", token)).get_json()
    assert got["reblogs_count"] == 1


async def test_gotosocial_delete_without_an_id_removes_the_post(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    delete = fixture("gotosocial/delete_note.json")
    sender = await _sender(inst, delete["actor"], "admin")
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=sender, accepted=True)
    note = {"id": delete["object"], "type": "Note", "attributedTo": sender.uri, "content": "<p>bye</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "published": "2021-09-20T10:40:37Z"}
    create = _as_create(note)
    assert (await inst.deliver(create, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    home = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    assert [s["uri"] for s in home] == [note["id"]]
    assert (await inst.deliver(delete, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    assert await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json() == []
    assert (await inst.deliver(delete, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202


async def test_mastodon_profile_update_refreshes_the_account(app_ctx):
    inst = app_ctx
    await inst.user("alice")
    update = copy.deepcopy(fixture("mastodon/update_person.json"))
    sender = await _sender(inst, update["actor"], "alinamiko")
    assert (await inst.deliver(update, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    fresh = await Account.get(uri=update["actor"])
    assert fresh.display_name == update["object"]["name"]


async def test_mastodon_accept_and_block(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    accept = copy.deepcopy(fixture("mastodon/accept_follow.json"))
    sender = await _sender(inst, accept["actor"], "admin")
    follow_uri = accept["object"]["id"]
    await Follow.create(uri=follow_uri, follower=alice, target=sender, accepted=False)
    accept["object"]["actor"] = alice.uri
    assert (await inst.deliver(accept, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    assert (await Follow.get(uri=follow_uri)).accepted
    rel = await (await inst.api("GET", f"/api/v1/accounts/relationships?id[]={sender.id}", token)).get_json()
    assert rel[0]["following"] is True
    block = copy.deepcopy(fixture("mastodon/block.json"))
    block["actor"] = sender.uri
    block["id"] = sender.uri + "#blocks/1"
    block["object"] = alice.uri
    assert (await inst.deliver(block, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    assert await Follow.filter(follower=alice, target=sender).count() == 0


async def test_gotosocial_accept_of_a_like_does_not_accept_a_follow(app_ctx):
    inst = app_ctx
    alice, _ = await inst.user("alice")
    accept = copy.deepcopy(fixture("gotosocial/accept_like.json"))
    sender = await _sender(inst, accept["actor"], "admin")
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=sender, accepted=False)
    assert (await inst.deliver(accept, sender.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    assert not (await Follow.get(uri=f"{alice.uri}/follows/1")).accepted
