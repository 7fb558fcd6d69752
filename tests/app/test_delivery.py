"""The delivery queue: shared-inbox dedupe, signatures, retries, dead letters, unavailable hosts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from fedi import signatures
from fedi.models import Account, Delivery, Follow, Host
from outbox.deliver import MAX_ATTEMPTS, backoff, retry_after
from tests.helpers import Receiver, TestInstance, person
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM


@pytest.fixture
async def inst(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http", allow_private=True) as i:
        yield i


async def _followers(inst, receiver, specs):
    """specs: (username, host label, has shared inbox)."""
    alice, token = await inst.user("alice")
    for name, host, shared in specs:
        uri = f"{receiver.base}/{host}/users/{name}"
        doc = person(uri, name, shared_inbox=f"{receiver.base}/{host}/inbox" if shared else None)
        if not shared:
            doc["endpoints"] = {}
        remote = await inst.remote_actor(doc, ALICE_PUBLIC_PEM)
        await Follow.create(uri=f"{uri}#follow", follower=remote, target=alice, accepted=True)
    return alice, token


def test_backoff_follows_mastodon_schedule():
    # a wait follows every failed attempt but the last: 16 retries after the first try
    waits = [backoff(n).total_seconds() for n in range(1, MAX_ATTEMPTS)]
    assert len(waits) == 16
    for got, base in zip(waits, [15, 16, 31, 96, 271], strict=False):
        assert base <= got <= base * 1.1
    assert 14 * 3600 <= waits[-1] <= 15.5 * 3600
    assert 40 * 3600 < sum(waits) < 3 * 24 * 3600  # about two days of retries in all
    assert retry_after("120") == timedelta(seconds=120)
    assert retry_after("soon") is None


async def test_one_post_per_server_with_a_shared_inbox_and_signed(inst):
    async with Receiver() as rx:
        specs = [("u1", "s1", True), ("u2", "s1", True), ("u3", "s1", True), ("u4", "s2", False)]
        _, token = await _followers(inst, rx, specs)
        resp = await inst.api("POST", "/api/v1/statuses", token, json={"status": "hello"})
        assert resp.status_code == 200
        await inst.state.deliverer.run_once()
        assert sorted(rx.paths()) == ["/s1/inbox", "/s2/users/u4/inbox"]
        path, headers, body = rx.received[0]
        alice = await Account.get(username="alice")
        params = signatures.parse_signature(headers["Signature"])
        assert params.key_id == alice.key_id
        signatures.verify("POST", path, {k.lower(): v for k, v in headers.items()}, params, alice.public_key_pem)
        signatures.check_digest({k.lower(): v for k, v in headers.items()}, body)
        assert orjson.loads(body)["type"] == "Create"
        assert await Delivery.filter(state="done").count() == 2


async def test_server_errors_retry_and_permanent_errors_stop(inst):
    async with Receiver() as rx:
        specs = [("a", "down", False), ("b", "gone", False), ("c", "busy", False)]
        _, token = await _followers(inst, rx, specs)
        rx.answers = {"/down/users/a/inbox": (503, {}), "/gone/users/b/inbox": (410, {}),
                      "/busy/users/c/inbox": (429, {"Retry-After": "600"})}
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "hello"})
        before = datetime.now(UTC)
        await inst.state.deliverer.run_once()
        down = await Delivery.get(inbox__endswith="/down/users/a/inbox")
        assert (down.state, down.attempts, down.last_status, down.last_error) == ("pending", 1, 503, "HTTP 503")
        assert before + timedelta(seconds=14) < down.next_try < before + timedelta(seconds=20)
        gone = await Delivery.get(inbox__endswith="/gone/users/b/inbox")
        assert (gone.state, gone.last_status) == ("dead", 410)
        busy = await Delivery.get(inbox__endswith="/busy/users/c/inbox")
        assert busy.state == "pending" and busy.next_try >= before + timedelta(seconds=599)
        # a second pass sends nothing: nothing is due yet
        count = len(rx.received)
        await inst.state.deliverer.run_once()
        assert len(rx.received) == count


async def test_host_failing_on_three_days_is_skipped_until_it_talks_again(inst):
    async with Receiver() as rx:
        _, token = await _followers(inst, rx, [("a", "flaky", False)])
        host = f"127.0.0.1:{rx.port}"
        days = [(date.today() - timedelta(days=n)).isoformat() for n in (2, 1)]
        await Host.create(domain=host, failure_days=days)
        rx.answers = {"/flaky/users/a/inbox": (500, {})}
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "one"})
        await inst.state.deliverer.run_once()
        assert (await Host.get(domain=host)).unavailable
        await Delivery.all().update(next_try=datetime.now(UTC))
        rx.received.clear()
        await inst.state.deliverer.run_once()
        assert rx.received == []  # skipped, not attempted
        postponed = await Delivery.get()
        assert postponed.state == "pending" and postponed.next_try > datetime.now(UTC) + timedelta(hours=23)
        # the host sends us something: it is available again and its deliveries are due now
        rx.answers = {}
        remote = await Account.get(username="a")
        like = {"id": f"{remote.uri}#likes/1", "type": "Like", "actor": remote.uri,
                "object": f"{inst.cfg.base_url}/users/alice/statuses/1"}
        assert (await inst.deliver(like, remote.key_id, ALICE_PRIVATE_PEM)).status_code == 202
        assert not (await Host.get(domain=host)).unavailable
        await inst.state.deliverer.run_once()
        assert rx.paths() == ["/flaky/users/a/inbox"]
        assert (await Delivery.get()).state == "done"


async def test_delivery_to_a_private_address_is_refused_not_retried(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http") as inst, Receiver() as rx:
        _, token = await _followers(inst, rx, [("a", "lan", False)])
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "x"})
        await inst.state.deliverer.run_once()
        assert rx.received == []
        dead = await Delivery.get()
        assert dead.state == "dead" and dead.last_error.startswith("refused")


async def test_a_large_fan_out_sends_each_delivery_once(inst):
    """More deliveries than one batch, with the worker loop running: none is sent twice."""
    import asyncio
    from collections import Counter

    from fedi.models import Account, Follow
    async with Receiver() as rx:
        alice, token = await inst.user("alice")
        rows = [Account(username=f"f{i}", domain=f"127.0.0.1:{rx.port}", uri=f"{rx.base}/f{i}",
                        inbox=f"{rx.base}/f{i}/inbox", public_key_pem="") for i in range(700)]
        await Account.bulk_create(rows)
        followers = await Account.filter(username__startswith="f", domain=f"127.0.0.1:{rx.port}")
        await Follow.bulk_create([Follow(uri=f"{f.uri}#follow", follower=f, target=alice, accepted=True)
                                  for f in followers])
        await inst.api("POST", "/api/v1/statuses", token, json={"status": "to many"})
        worker = asyncio.create_task(inst.state.deliverer.run())
        try:
            async with asyncio.timeout(60):
                while await Delivery.filter(state="pending").exists():  # noqa: ASYNC110 - polling the database
                    await asyncio.sleep(0.05)
        finally:
            await inst.state.deliverer.stop()
            await worker
        counts = Counter(rx.paths())
        assert len(counts) == 700 and max(counts.values()) == 1
