"""Behind a reverse proxy, rate limits and login throttles count each client, not the proxy."""

from __future__ import annotations

from typing import Any

from tests.app.test_pages import csrf, person

PROXY = {"client": ("127.0.0.1", 40000)}          # nginx on the same machine
STRANGER = {"client": ("203.0.113.66", 40000)}   # a client reaching fedi directly


async def remaining(inst: Any, scope: dict[str, Any], forwarded: str | None = None) -> tuple[int, str]:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    resp = await inst.client.get("/api/v1/timelines/public", headers=headers, scope_base=scope)
    return resp.status_code, resp.headers["X-RateLimit-Remaining"]


async def test_clients_behind_a_trusted_proxy_get_their_own_rate_limit(app_ctx):
    from fedi.api.ratelimit import Limit
    inst = app_ctx
    inst.state.limiter.api = Limit(3, 300.0)
    # two people behind the same nginx: separate budgets
    assert await remaining(inst, PROXY, "198.51.100.1") == (200, "2")
    assert await remaining(inst, PROXY, "198.51.100.1") == (200, "1")
    assert await remaining(inst, PROXY, "198.51.100.2") == (200, "2")
    # what a client writes itself is left of what the proxy appends: it cannot pick another bucket
    assert await remaining(inst, PROXY, "198.51.100.99, 198.51.100.1") == (200, "0")
    assert (await remaining(inst, PROXY, "198.51.100.1"))[0] == 429
    # a direct client claiming to be forwarded keeps its own address, and its bucket runs out
    assert await remaining(inst, STRANGER, "198.51.100.50") == (200, "2")
    assert await remaining(inst, STRANGER, "198.51.100.51") == (200, "1")
    assert await remaining(inst, STRANGER) == (200, "0")
    assert (await remaining(inst, STRANGER, "198.51.100.52"))[0] == 429
    # the proxy's own requests (no header) are one more client
    assert await remaining(inst, PROXY) == (200, "2")


async def test_an_operator_list_replaces_the_defaults(app_ctx):
    from dataclasses import replace

    from fedi.api.ratelimit import Limit
    inst = app_ctx
    inst.state.limiter.api = Limit(3, 300.0)
    inst.state.cfg = replace(inst.state.cfg, trusted_proxies=("192.0.2.10/32",))
    cdn = {"client": ("192.0.2.10", 443)}
    assert await remaining(inst, cdn, "198.51.100.1") == (200, "2")
    assert await remaining(inst, cdn, "198.51.100.2") == (200, "2")
    # loopback is no longer trusted once the operator names the proxies
    assert await remaining(inst, PROXY, "198.51.100.3") == (200, "2")
    assert await remaining(inst, PROXY, "198.51.100.4") == (200, "1")


async def test_login_throttle_counts_the_forwarded_address(app_ctx):
    inst = app_ctx
    await person(inst)

    async def sign_in(client_addr: str, password: str) -> int:
        token = await csrf(inst)
        resp = await inst.client.post("/login", form={"username": "alice", "password": password, "csrf_token": token,
                                                      "next": "/home"},
                                      headers={"X-Forwarded-For": client_addr}, scope_base=PROXY)
        return resp.status_code

    assert [await sign_in("198.51.100.1", "wrong password") for _ in range(5)] == [401] * 5
    assert await sign_in("198.51.100.1", "correct horse battery") == 429
    # the same account from another address behind the same proxy is not locked out
    assert await sign_in("198.51.100.2", "correct horse battery") == 302
