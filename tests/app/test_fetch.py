"""First contact: actors fetched (signed GET) on loopback, key rotation, actors that are gone."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web

from fedi import signatures
from fedi.models import Account, Like
from tests.helpers import TestInstance, person
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM, BOB_PUBLIC_PEM


class ActorServer:
    """A loopback server publishing actor documents, recording the GETs it answers."""

    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self.gets: list[tuple[str, dict[str, str]]] = []

    async def __aenter__(self) -> ActorServer:
        async def handle(request: web.Request) -> web.Response:
            self.gets.append((request.path, dict(request.headers)))
            doc = self.docs.get(request.path)
            if doc is None:
                return web.Response(status=410)
            return web.Response(body=orjson.dumps(doc), content_type="application/activity+json")

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def publish(self, name: str, public_pem: str) -> dict:
        doc = person(f"{self.base}/users/{name}", name)
        doc["publicKey"]["publicKeyPem"] = public_pem
        self.docs[f"/users/{name}"] = doc
        return doc


@pytest.fixture
async def inst(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http", allow_private=True) as i:
        yield i


async def _post(inst):
    _, token = await inst.user("alice")
    status = await (await inst.api("POST", "/api/v1/statuses", token, json={"status": "hi"})).get_json()
    return token, status


async def test_first_contact_actor_is_fetched_with_a_signed_get(inst):
    token, status = await _post(inst)
    async with ActorServer() as remote:
        doc = remote.publish("rita", ALICE_PUBLIC_PEM)
        like = {"id": f"{doc['id']}#likes/1", "type": "Like", "actor": doc["id"], "object": status["uri"]}
        assert (await inst.deliver(like, doc["publicKey"]["id"], ALICE_PRIVATE_PEM)).status_code == 202
        [(path, headers)] = remote.gets
        assert path == "/users/rita"
        params = signatures.parse_signature(headers["Signature"])
        assert params.key_id == inst.state.signer[0]   # signed by the instance actor
        account = await Account.get(uri=doc["id"])
        assert account.inbox == doc["inbox"] and account.shared_inbox == doc["endpoints"]["sharedInbox"]
        # the second activity needs no fetch
        like2 = dict(like, id=f"{doc['id']}#likes/2")
        await inst.deliver(like2, doc["publicKey"]["id"], ALICE_PRIVATE_PEM)
        assert len(remote.gets) == 1


async def test_rotated_key_is_refetched_once(inst):
    token, status = await _post(inst)
    async with ActorServer() as remote:
        old = remote.publish("rita", BOB_PUBLIC_PEM)
        await inst.remote_actor(old, BOB_PUBLIC_PEM)   # we cached the old key
        remote.publish("rita", ALICE_PUBLIC_PEM)       # the actor rotated to a new one
        like = {"id": f"{old['id']}#likes/1", "type": "Like", "actor": old["id"], "object": status["uri"]}
        assert (await inst.deliver(like, old["publicKey"]["id"], ALICE_PRIVATE_PEM)).status_code == 202
        assert len(remote.gets) == 1
        assert await Like.all().count() == 1


async def test_unreachable_unknown_actor_is_refused(inst):
    token, status = await _post(inst)
    async with ActorServer() as remote:
        uri = f"{remote.base}/users/ghost"
        like = {"id": f"{uri}#likes/1", "type": "Like", "actor": uri, "object": status["uri"]}
        resp = await inst.deliver(like, f"{uri}#main-key", ALICE_PRIVATE_PEM)
        assert resp.status_code == 401 and "error" in await resp.get_json()
        assert await Like.all().count() == 0


async def test_gone_actor_deleting_itself_is_not_fetched(inst):
    await _post(inst)
    async with ActorServer() as remote:
        uri = f"{remote.base}/users/ghost"
        delete = {"id": f"{uri}#delete", "type": "Delete", "actor": uri, "object": uri}
        resp = await inst.deliver(delete, f"{uri}#main-key", ALICE_PRIVATE_PEM)
        assert resp.status_code == 202
        assert remote.gets == []
        assert not await Account.exists(uri=uri)


async def test_private_addresses_are_refused_by_default(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http") as inst, \
            ActorServer() as remote:
        _, status = await _post(inst)
        doc = remote.publish("rita", ALICE_PUBLIC_PEM)
        like = {"id": f"{doc['id']}#likes/1", "type": "Like", "actor": doc["id"], "object": status["uri"]}
        assert (await inst.deliver(like, doc["publicKey"]["id"], ALICE_PRIVATE_PEM)).status_code == 401
        assert remote.gets == []   # never contacted


async def test_boost_of_an_unseen_post_is_queued_then_fetched(inst):
    from fedi.models import Follow, InboxItem
    alice, token = await inst.user("alice")
    async with ActorServer() as remote:
        booster = remote.publish("bea", ALICE_PUBLIC_PEM)
        author = remote.publish("carl", ALICE_PUBLIC_PEM)
        note = {"id": f"{author['id']}/statuses/1", "type": "Note", "attributedTo": author["id"],
                "content": "<p>a painted owl</p>", "published": "2026-11-01T10:00:00Z",
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [],
                "attachment": [{"type": "Image", "mediaType": "image/png", "url": f"{remote.base}/owl.png",
                                "name": "an owl", "width": 10, "height": 10}]}
        remote.docs["/users/carl/statuses/1"] = note
        bea = await inst.remote_actor(booster, ALICE_PUBLIC_PEM)
        await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=bea, accepted=True)
        announce = {"id": f"{booster['id']}/boosts/1", "type": "Announce", "actor": booster["id"],
                    "object": note["id"], "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "published": "2026-11-01T11:00:00Z"}
        assert (await inst.deliver(announce, booster["publicKey"]["id"], ALICE_PRIVATE_PEM)).status_code == 202
        assert (await InboxItem.get(uri=announce["id"])).state == "queued"   # stored before the 202
        assert await inst.state.inbox_worker.run_once() == 1
        assert (await InboxItem.get(uri=announce["id"])).state == "done"
        home = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
        [boost] = home
        assert boost["account"]["username"] == "bea"
        assert boost["reblog"]["uri"] == note["id"] and "painted owl" in boost["reblog"]["content"]
        assert boost["reblog"]["media_attachments"][0]["description"] == "an owl"
        assert boost["reblog"]["account"]["username"] == "carl"


async def test_nothing_is_fetched_from_a_blocked_server(inst):
    from fedi import admin
    from fedi.models import InboxItem
    _, token = await inst.user("alice")
    async with ActorServer() as remote:
        booster = remote.publish("bea", ALICE_PUBLIC_PEM)
        await inst.remote_actor(booster, ALICE_PUBLIC_PEM)
        await InboxItem.create(uri=f"{booster['id']}/boosts/9", type="Announce", actor_uri=booster["id"],
                               state="queued", body={"id": f"{booster['id']}/boosts/9", "type": "Announce",
                                                     "actor": booster["id"], "object": f"{remote.base}/notes/1"})
        await admin.block_domain(remote.base.split("//")[1])
        admin.forget_blocks()
        await inst.state.inbox_worker.run_once()
        search = await inst.api("GET", f"/api/v2/search?q={remote.base}/notes/2&resolve=true", token)
        assert (await search.get_json())["statuses"] == []
        assert remote.gets == []


async def test_two_first_activities_from_one_new_actor_at_once(inst):
    """Both fetch the actor; the second store finds the row the first wrote instead of refusing."""
    import asyncio
    _, token = await inst.user("alice")
    uris = [(await (await inst.api("POST", "/api/v1/statuses", token, json={"status": f"post {i}"})).get_json())["uri"]
            for i in range(2)]
    async with ActorServer() as remote:
        doc = remote.publish("rita", ALICE_PUBLIC_PEM)
        likes = [{"id": f"{doc['id']}#likes/{i}", "type": "Like", "actor": doc["id"], "object": uri}
                 for i, uri in enumerate(uris)]
        answers = await asyncio.gather(*(inst.deliver(like, doc["publicKey"]["id"], ALICE_PRIVATE_PEM)
                                         for like in likes))
        assert [a.status_code for a in answers] == [202, 202]
        assert await Account.filter(uri=doc["id"]).count() == 1
        assert await Like.all().count() == 2


async def test_known_actor_signing_with_a_new_key_id_is_refetched(inst):
    token, status = await _post(inst)
    async with ActorServer() as remote:
        old = remote.publish("rita", BOB_PUBLIC_PEM)
        account = await inst.remote_actor(old, BOB_PUBLIC_PEM)   # known, with its old key
        new = remote.publish("rita", ALICE_PUBLIC_PEM)
        new["publicKey"]["id"] = f"{new['id']}#key-2"             # the actor now signs with another key id
        like = {"id": f"{new['id']}#likes/1", "type": "Like", "actor": new["id"], "object": status["uri"]}
        assert (await inst.deliver(like, new["publicKey"]["id"], ALICE_PRIVATE_PEM)).status_code == 202
        assert len(remote.gets) == 1
        stored = await Account.get(uri=new["id"])
        assert stored.id == account.id and stored.key_id == f"{new['id']}#key-2"
        assert await Account.filter(uri=new["id"]).count() == 1
        assert await Like.filter(account_id=account.id).count() == 1
