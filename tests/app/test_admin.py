"""Operator actions (fedi/admin.py), in process: domain blocks, suspension, deletion, passwords, the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

import schemas
from fedi import admin, signatures
from fedi.accounts import check_password
from fedi.actors import fetch_actor, resolve_handle
from fedi.errors import BadRequest, NotFound
from fedi.http import Blocked
from fedi.models import (
    Account,
    Activity,
    Delivery,
    DomainBlock,
    Follow,
    Like,
    Media,
    Notification,
    Post,
    Token,
    Tombstone,
)
from fedi.uploads import store_upload
from outbox import build
from outbox.publish import enqueue, publish_post
from tests.helpers import Receiver, TestInstance, fixture, person, png_bytes
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM

FELIX = "https://mastodon.madrid/users/felix"
KEY = f"{FELIX}#main-key"


@pytest.fixture
async def inst(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http", allow_private=True) as i:
        yield i


async def _remote_follower(inst, rx, target, name, server):
    uri = f"{rx.base}/{server}/users/{name}"
    remote = await inst.remote_actor(person(uri, name, shared_inbox=f"{rx.base}/{server}/inbox"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{uri}#follow", follower=remote, target=target, accepted=True)
    return remote


def test_domains_are_validated_and_lowercased():
    assert admin.normalise_domain("Bad.Example") == "bad.example"
    assert admin.normalise_domain(" bad.example:8443 ") == "bad.example:8443"
    assert admin.normalise_domain("[::1]:80") == "[::1]:80"
    assert admin.normalise_domain("bücher.example") == "xn--bcher-kva.example"
    for wrong in ("", "https://bad.example/", "bad example", "bad.example:99999", "bad..example", "a@b.example",
                  "bad.example:", "-bad.example", "[zz]"):
        with pytest.raises(BadRequest):
            admin.normalise_domain(wrong)
    blocked = frozenset({"bad.example", "127.0.0.1:8080"})
    assert admin.blocked_by("img.bad.example", blocked) == "bad.example"
    assert admin.blocked_by("bad.example:443", blocked) == "bad.example"
    assert admin.blocked_by("notbad.example", blocked) is None
    assert admin.blocked_by("127.0.0.1:8080", blocked) == "127.0.0.1:8080"
    assert admin.blocked_by("127.0.0.1:8081", blocked) is None


async def test_a_blocked_server_gets_403_and_is_not_fetched_and_follows_go(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    felix = await inst.remote_actor(person(FELIX, "felix"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{FELIX}#follows/1", follower=felix, target=alice, accepted=True)
    await Follow.create(uri="https://fedi.test/follows/1", follower=alice, target=felix, accepted=True)
    resp = await inst.api("POST", "/api/v1/statuses", token, json={"status": "before the block"})
    status = await resp.get_json()
    assert await Delivery.filter(host="mastodon.madrid", state="pending").count() == 1

    with pytest.raises(BadRequest):
        await admin.block_domain("fedi.test", own_domain=inst.cfg.domain)
    result = await admin.block_domain("Mastodon.Madrid", "spam", own_domain=inst.cfg.domain)
    assert (result.domain, result.created, result.follows_removed, result.deliveries_dead) == \
        ("mastodon.madrid", True, 2, 1)
    assert await Follow.all().count() == 0
    dead = await Delivery.get(host="mastodon.madrid")
    assert (dead.state, dead.last_error) == ("dead", "domain blocked")
    assert await admin.list_blocks() == [{"domain": "mastodon.madrid", "reason": "spam",
                                          "created_at": (await DomainBlock.get()).created_at.isoformat()}]

    like = dict(fixture("mastodon/like.json"), object=status["uri"])
    refused = await inst.deliver(like, KEY, ALICE_PRIVATE_PEM)
    assert refused.status_code == 403 and "error" in await refused.get_json()
    # an actor we never saw, on a subdomain of the blocked server: refused before any key fetch (else 401)
    stranger = "https://img.mastodon.madrid/users/x"
    other = dict(like, id=f"{stranger}#likes/1", actor=stranger)
    assert (await inst.deliver(other, f"{stranger}#main-key", ALICE_PRIVATE_PEM)).status_code == 403
    # an allowed actor whose key is on the blocked server
    ok_actor = "https://ok.example/users/y"
    mixed = dict(like, id=f"{ok_actor}#likes/1", actor=ok_actor)
    assert (await inst.deliver(mixed, KEY, ALICE_PRIVATE_PEM)).status_code == 403
    assert await Like.all().count() == 0

    with pytest.raises(Blocked):
        await fetch_actor(inst.state, stranger)
    with pytest.raises(NotFound):
        await resolve_handle(inst.state, "someone@mastodon.madrid")
    # nothing new is queued for it
    assert await enqueue(inst.state, alice, build.like("https://fedi.test/l/1", alice.uri, FELIX),
                         [felix.inbox, "https://ok.example/inbox"], store=False) == 1
    assert await Delivery.filter(host="mastodon.madrid", state="pending").count() == 0

    assert await admin.unblock_domain("MASTODON.madrid") == "mastodon.madrid"
    with pytest.raises(NotFound):
        await admin.unblock_domain("mastodon.madrid")
    assert (await inst.deliver(like, KEY, ALICE_PRIVATE_PEM)).status_code == 202
    assert await Like.all().count() == 1


async def test_nothing_is_delivered_to_a_blocked_server(inst):
    async with Receiver() as rx:
        alice, token = await inst.user("alice")
        await _remote_follower(inst, rx, alice, "u1", "s1")
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "queued before the block"})
        # blocked by another process: this one's pending delivery is caught by the worker
        await DomainBlock.create(domain=f"127.0.0.1:{rx.port}")
        admin.forget_blocks()
        await inst.state.deliverer.run_once()
        assert rx.received == []
        row = await Delivery.get()
        assert (row.state, row.last_error) == ("dead", "domain blocked")
        assert await admin.retry_dead() == 0   # dead for the block, it stays dead


async def test_suspended_account_cannot_use_tokens_is_not_found_and_sends_nothing(inst):
    async with Receiver() as rx:
        alice, token = await inst.user("alice")
        await _remote_follower(inst, rx, alice, "u1", "s1")
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "hello"})
        assert (await inst.client.get("/.well-known/webfinger?resource=acct:alice@127.0.0.1:9")).status_code == 200

        account, changed = await admin.set_suspended("alice", True, inst.state)
        assert changed and account.suspended
        assert (await admin.set_suspended("alice", True, inst.state))[1] is False
        assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", token)).status_code == 401
        assert (await inst.client.get("/.well-known/webfinger?resource=acct:alice@127.0.0.1:9")).status_code == 404
        actor = await inst.client.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert actor.status_code == 404
        assert (await Delivery.get()).state == "dead"
        # something queued for it anyway (e.g. by a process that had not seen the suspension) is not sent
        doc = build.like("http://127.0.0.1:9/users/alice#likes/1", alice.uri, "https://x.example/p/1")
        await enqueue(inst.state, alice, doc, [f"{rx.base}/s1/inbox"], store=False)
        await inst.state.deliverer.run_once()
        assert rx.received == []
        assert await Delivery.filter(state="dead", last_error="sender suspended").count() == 2
        assert await admin.retry_dead() == 0

        await admin.set_suspended("alice", False, inst.state)
        assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", token)).status_code == 200
        assert (await inst.client.get("/.well-known/webfinger?resource=acct:alice@127.0.0.1:9")).status_code == 200
        assert await admin.retry_dead() == 2
        await inst.state.deliverer.run_once()
        assert len(rx.received) == 2


async def test_delete_queues_delete_to_followers_then_removes_everything(inst):
    async with Receiver() as rx:
        alice, token = await inst.user("alice")
        bob, _ = await inst.user("bob")
        await _remote_follower(inst, rx, alice, "u1", "s1")
        await _remote_follower(inst, rx, alice, "u2", "s1")
        await _remote_follower(inst, rx, alice, "u3", "s2")
        followed = await inst.remote_actor(person(f"{rx.base}/s3/users/v", "v", shared_inbox=f"{rx.base}/s3/inbox"),
                                           ALICE_PUBLIC_PEM)
        await Follow.create(uri="http://127.0.0.1:9/follows/9", follower=alice, target=followed, accepted=True)
        await Follow.create(uri="http://127.0.0.1:9/follows/10", follower=bob, target=alice, accepted=True)
        shared = png_bytes(80, 60, (10, 200, 10))
        own = await store_upload(inst.state, alice, png_bytes(90, 70, (200, 10, 10)))
        mine = await publish_post(inst.state, alice, caption="mine", media=[own])
        same = await publish_post(inst.state, alice, caption="shared image",
                                  media=[await store_upload(inst.state, alice, shared)])
        bobs = await publish_post(inst.state, bob, caption="bob's",
                                  media=[await store_upload(inst.state, bob, shared)])
        reply = await publish_post(inst.state, alice, caption="a reply", in_reply_to=bobs)
        await Like.create(uri="http://127.0.0.1:9/likes/1", account=alice, post=bobs)
        await Post.filter(id=bobs.id).update(favourites_count=1)
        await Notification.create(account=bob, from_account=alice, type="favourite", post=bobs)
        await inst.state.deliverer.run_once()
        rx.received.clear()
        files = inst.cfg.media_dir
        own_file = files / own.file_name
        shared_file = files / (await Media.get(post_id=bobs.id)).file_name
        assert own_file.exists() and shared_file.exists()

        steps = []
        result = await admin.delete_user(inst.state, "alice", lambda done, total: steps.append((done, total)))
        assert (result.posts, result.follows, result.likes, result.delete_queued) == (3, 5, 1, 3)
        assert steps[0] == (0, 3) and steps[-1] == (3, 3)
        # one Delete per server that follows her (shared inboxes) and the server she followed
        queued = await Delivery.filter(state="pending")
        assert sorted(d.inbox for d in queued) == [f"{rx.base}/s{i}/inbox" for i in (1, 2, 3)]
        delete = orjson.loads(queued[0].body)
        assert (delete["type"], delete["actor"], delete["object"]) == ("Delete", alice.uri, alice.uri)
        schemas.validate("outbound", "delete", delete)
        # the rows are gone; the account stays as a suspended, gone tombstone that keeps its key
        assert await Post.filter(account_id=alice.id).count() == 0
        assert await Media.filter(account_id=alice.id).count() == 0
        assert await Follow.filter(follower_id=alice.id).count() + await Follow.filter(target_id=alice.id).count() == 0
        assert await Like.all().count() == 0 and await Token.filter(account_id=alice.id).count() == 0
        assert await Notification.filter(from_account_id=alice.id).count() == 0
        assert await Activity.filter(account_id=alice.id).count() == 0
        assert await Tombstone.filter(uri__in=[mine.uri, same.uri, reply.uri]).count() == 3
        gone = await Account.get(id=alice.id)
        assert gone.gone and gone.suspended and gone.private_key_pem and gone.password_hash is None
        post = await Post.get(id=bobs.id)
        assert (post.favourites_count, post.replies_count) == (0, 0)
        assert not own_file.exists() and shared_file.exists()   # bob's identical upload keeps the shared file
        assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", token)).status_code == 401
        gone_post = await inst.client.get(f"/users/alice/statuses/{mine.id}",
                                          headers={"Accept": "application/activity+json"})
        assert gone_post.status_code == 410

        # the Deletes go out, signed with the gone account's key
        await inst.state.deliverer.run_once()
        assert sorted(rx.paths()) == ["/s1/inbox", "/s2/inbox", "/s3/inbox"]
        path, headers, body = rx.received[0]
        lower = {k.lower(): v for k, v in headers.items()}
        params = signatures.parse_signature(lower["signature"])
        assert params.key_id == alice.key_id
        signatures.verify("POST", path, lower, params, alice.public_key_pem)
        assert orjson.loads(body)["type"] == "Delete"
        assert await Delivery.filter(state="done").count() == 3

        again = await admin.delete_user(inst.state, "alice")
        assert again.resumed and again.delete_queued == 0 and again.posts == 0
        assert await Delivery.filter(activity_uri=f"{alice.uri}#delete").count() == 3
        with pytest.raises(BadRequest):
            await admin.set_suspended("alice", False)
        with pytest.raises(NotFound):
            await admin.delete_user(inst.state, "nobody")


async def test_reset_password_and_user_rows(inst):
    alice, _ = await inst.user("alice")
    await inst.user("bob")
    _, generated = await admin.reset_password("alice")
    assert len(generated) >= 16 and check_password(generated, (await Account.get(id=alice.id)).password_hash)
    await admin.reset_password("alice", "correct horse")
    assert check_password("correct horse", (await Account.get(id=alice.id)).password_hash)
    with pytest.raises(BadRequest):
        await admin.reset_password("alice", "short")
    with pytest.raises(NotFound):
        await admin.reset_password("nobody")
    await publish_post(inst.state, alice, caption="one")
    await admin.set_suspended("bob", True)
    rows = {r["username"]: r for r in await admin.user_rows()}
    assert (rows["alice"]["state"], rows["alice"]["posts"], rows["bob"]["state"]) == ("active", 1, "suspended")


async def test_summary_and_retry_dead(inst):
    alice, _ = await inst.user("alice")
    now = datetime.now(UTC)
    for host, state, error in (("a.example", "done", None), ("a.example", "dead", "HTTP 410"),
                               ("b.example", "pending", "HTTP 503"), ("c.example", "dead", "HTTP 500")):
        await Delivery.create(activity_uri="x", sender=alice, inbox=f"https://{host}/inbox", host=host, body="{}",
                              state=state, next_try=now, last_error=error, attempts=3)
    await admin.block_domain("c.example")
    summary = {r["host"]: r for r in await admin.delivery_summary()}
    assert (summary["a.example"]["done"], summary["a.example"]["dead"], summary["a.example"]["last_error"]) == \
        (1, 1, "HTTP 410")
    assert summary["b.example"]["pending"] == 1 and summary["c.example"]["blocked"]
    assert await admin.retry_dead() == 1
    row = await Delivery.get(host="a.example", state="pending")
    assert row.attempts == 0


def test_doctor_config_warnings_and_labels():
    from fedi.config import Config
    report = admin.Report()
    admin._check_config(Config(domain="pics.example", scheme="http", allow_private_addresses=True), report)
    assert [(c.status, c.name) for c in report.checks] == [("ok", "config"), ("warn", "scheme"), ("warn", "ssrf")]
    report = admin.Report()
    admin._check_config(Config(domain="localhost:8000", scheme="http", allow_private_addresses=True), report)
    assert [c.status for c in report.checks] == ["ok"]
    assert admin.database_label("postgres://fedi:pw@db.example:5432/fedi") == "postgres://fedi:***@db.example:5432/fedi"
    assert admin.is_loopback_host("[::1]") and not admin.is_loopback_host("pics.example")


async def test_deleted_accounts_answer_410_and_suspended_ones_take_no_mail(app_ctx):
    from fedi import admin
    inst = app_ctx
    await inst.user("carol")
    await inst.user("dave")
    await admin.set_suspended("dave", True)
    await admin.delete_user(inst.state, "carol")
    inst.state.local_cache.clear()
    assert (await inst.client.get("/users/carol", headers={"Accept": "application/activity+json"})).status_code == 410
    resp = await inst.client.post("/users/dave/inbox", data=b"{}", headers={"Content-Type": "application/json"})
    assert resp.status_code == 404
