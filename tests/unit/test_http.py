"""fedi.http against a real aiohttp server on 127.0.0.1; names resolve only through a fake resolver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from fedi import http as fhttp
from fedi.config import Config
from fedi.errors import RemoteError
from fedi.http import MAX_BODY, Blocked, HttpClient, default_user_agent, is_refused_address


@dataclass
class Seen:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class FakeResolver(AbstractResolver):
    """Never touches real DNS: unknown names fail like NXDOMAIN."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"fake resolver: unknown host {host}")
        return [
            {
                "hostname": host,
                "host": addr,
                "port": port,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
                "family": socket.AF_INET6 if ":" in addr else socket.AF_INET,
            }
            for addr in self.table[host]
        ]

    async def close(self) -> None:
        pass


def _app(server: Server) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        server.seen.append(Seen(request.path, request.method, dict(request.headers), body))
        return await handler(request)

    async def actor(request: web.Request) -> web.Response:
        return web.json_response({"id": "x", "type": "Person"}, content_type="application/activity+json")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    async def array(request: web.Request) -> web.Response:
        return web.json_response([1, 2, 3])

    async def missing(request: web.Request) -> web.Response:
        return web.json_response({"error": "gone"}, status=404)

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b" " * (MAX_BODY + 1), content_type="application/json")

    async def chunked(request: web.Request) -> web.StreamResponse:
        size = int(request.query["size"])
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            await resp.write(b"{}")
            sent = 2
            while sent < size:
                piece = min(50_000, size - sent)
                await resp.write(b" " * piece)
                sent += piece
            await resp.write_eof()
        except ConnectionError:
            pass
        return resp

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/chain/{n - 1}" if n > 0 else "/actor")

    async def redirect_to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def inbox(request: web.Request) -> web.Response:
        return web.Response(status=202, body=b"accepted " + request.headers.get("X-Test", "").encode())

    async def chatty(request: web.Request) -> web.Response:
        return web.Response(body=b"a" * 200_000)

    app = web.Application(middlewares=[record])
    app.router.add_get("/actor", actor)
    app.router.add_get("/html", html)
    app.router.add_get("/array", array)
    app.router.add_get("/missing", missing)
    app.router.add_get("/big", big)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/slow", slow)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/to", redirect_to)
    app.router.add_post("/to", redirect_to)
    app.router.add_post("/inbox", inbox)
    app.router.add_post("/chatty", chatty)
    return app


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server(port=0)
    runner = web.AppRunner(_app(srv), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.port = runner.addresses[0][1]
    yield srv
    await runner.cleanup()


MakeClient = Callable[..., Awaitable[HttpClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[HttpClient] = []

    async def make(
        *,
        scheme: str = "http",
        allow_private: bool = True,
        timeout: float = 5.0,  # noqa: ASYNC109
        resolver: AbstractResolver | None = None,
    ) -> HttpClient:
        cfg = Config(domain="127.0.0.1:1", scheme=scheme, allow_private_addresses=allow_private)
        client = HttpClient(
            cfg, user_agent=default_user_agent(cfg), timeout=timeout, resolver=resolver or FakeResolver({})
        )
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_get_json_ok_when_private_allowed(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    assert await client.get_json(server.url("/actor")) == {"id": "x", "type": "Person"}
    assert server.seen[0].headers["User-Agent"] == "fedi/0.1.0 (+http://127.0.0.1:1/)"
    assert server.seen[0].headers["Accept"] == fhttp.AS2_ACCEPT


async def test_private_literal_refused_before_connecting(server: Server, make_client: MakeClient) -> None:
    client = await make_client(allow_private=False)
    for host in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"):
        with pytest.raises(Blocked):
            await client.get_json(server.url("/actor", host=host))
    assert server.seen == []


async def test_private_name_refused_by_resolver(server: Server, make_client: MakeClient) -> None:
    resolver = FakeResolver({"intranet.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "127.0.0.1"]})
    client = await make_client(allow_private=False, resolver=resolver)
    for name in ("intranet.test", "mixed.test"):
        with pytest.raises(Blocked, match="refused address"):
            await client.get(server.url("/actor", host=name))
    assert server.seen == []


async def test_name_via_resolver_when_private_allowed(server: Server, make_client: MakeClient) -> None:
    client = await make_client(resolver=FakeResolver({"peer.test": ["127.0.0.1"]}))
    assert await client.get_json(server.url("/actor", host="peer.test")) == {"id": "x", "type": "Person"}


async def test_https_only(server: Server, make_client: MakeClient) -> None:
    client = await make_client(scheme="https")
    for url in (server.url("/actor"), "ftp://127.0.0.1/x", "https:///nohost", "not a url"):
        with pytest.raises(Blocked):
            await client.get(url)
    assert server.seen == []
    client.check_url("https://example.org/actor")  # no exception, no network


async def test_redirect_to_refused_address_is_refused(
    server: Server, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend 127.0.0.1 is a public address so the origin passes; everything else keeps the real policy.
    real = fhttp.is_refused_address
    monkeypatch.setattr(fhttp, "is_refused_address", lambda host: host != "127.0.0.1" and real(host))
    resolver = FakeResolver({"origin.test": ["127.0.0.1"], "intranet.test": ["10.1.2.3"]})
    client = await make_client(allow_private=False, resolver=resolver)
    assert (await client.get(server.url("/actor", host="origin.test"))).status == 200
    for target in (
        "http://169.254.169.254/latest/meta-data",
        f"http://intranet.test:{server.port}/actor",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
    ):
        with pytest.raises(Blocked):
            await client.get(server.url(f"/to?url={target}", host="origin.test"))
    ok = await client.get(server.url(f"/to?url=http://origin.test:{server.port}/actor", host="origin.test"))
    assert ok.status == 200 and ok.url.endswith("/actor")


async def test_redirect_to_refused_scheme_is_refused(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(Blocked):
        await client.get(server.url("/to?url=file:///etc/passwd"))


async def test_redirect_chain_followed(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.get(server.url("/chain/4"))  # 5 redirects: the default limit
    assert resp.status == 200 and resp.url == server.url("/actor")
    assert [s.path for s in server.seen] == [f"/chain/{n}" for n in range(4, -1, -1)] + ["/actor"]
    with pytest.raises(RemoteError, match="redirects"):
        await client.get(server.url("/chain/5"), max_redirects=5)
    with pytest.raises(RemoteError, match="more than 0 redirects"):
        await client.get(server.url("/chain/0"), max_redirects=0)


async def test_body_over_limit_with_content_length(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(Blocked):
        await client.get(server.url("/big"))


async def test_body_over_limit_chunked(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(Blocked):
        await client.get_json(server.url(f"/chunked?size={MAX_BODY + 1}"))
    ok = await client.get(server.url(f"/chunked?size={MAX_BODY}"))
    assert len(ok.body) == MAX_BODY and "Content-Length" not in ok.headers


async def test_wrong_content_type_refused(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(Blocked):
        await client.get_json(server.url("/html"))
    with pytest.raises(RemoteError, match="not an object") as info:
        await client.get_json(server.url("/array"))
    assert not isinstance(info.value, Blocked)


async def test_404_carries_status(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(RemoteError) as info:
        await client.get_json(server.url("/missing"))
    assert info.value.status == 404  # type: ignore[attr-defined]
    assert str(info.value) == f"{server.url('/missing')} answered 404"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused(make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(RemoteError, match="ClientConnectorError") as info:
        await client.get(f"http://127.0.0.1:{_free_port()}/actor")
    assert not isinstance(info.value, aiohttp.ClientError)


async def test_unknown_name_is_remote_error(make_client: MakeClient) -> None:
    client = await make_client()
    with pytest.raises(RemoteError, match="DNS") as info:
        await client.get("http://nowhere.test/")
    assert not isinstance(info.value, Blocked | aiohttp.ClientError)


async def test_timeout(server: Server, make_client: MakeClient) -> None:
    client = await make_client(timeout=0.3)
    with pytest.raises(RemoteError, match="Timeout"):
        await client.get_json(server.url("/slow"))


async def test_signed_get_signs_every_hop(server: Server, make_client: MakeClient) -> None:
    pytest.importorskip("fedi.signatures")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    client = await make_client()
    key_id = "http://127.0.0.1:1/users/alice#main-key"
    actor = await client.get_json(server.url("/chain/1"), signer=(key_id, pem))
    assert actor == {"id": "x", "type": "Person"}
    assert len(server.seen) == 3
    for seen in server.seen:
        assert {"Signature", "Date", "Host"} <= set(seen.headers), seen.path
        assert key_id in seen.headers["Signature"]
        assert seen.headers["Accept"] == fhttp.AS2_ACCEPT


async def test_post(server: Server, make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.post(
        server.url("/inbox"),
        b'{"type":"Follow"}',
        {"Content-Type": "application/activity+json", "X-Test": "yes"},
    )
    assert resp.status == 202 and resp.body == b"accepted yes"
    assert server.seen[-1].body == b'{"type":"Follow"}'
    assert server.seen[-1].headers["Content-Type"] == "application/activity+json"
    chatty = await client.post(server.url("/chatty"), b"{}", {})
    assert chatty.status == 200 and len(chatty.body) == 64 * 1024
    redirected = await client.post(server.url("/to?url=/inbox"), b"{}", {})
    assert redirected.status == 302 and server.seen[-1].path == "/to"


async def test_post_guarded(server: Server, make_client: MakeClient) -> None:
    client = await make_client(allow_private=False)
    with pytest.raises(Blocked):
        await client.post(server.url("/inbox"), b"{}", {})
    assert server.seen == []


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",
        "64:ff9b::a00:1",
        "2001:db8::1",
        "2001::1",
        "64:ff9b::808:808",
        "localhost",
        "",
    ],
)
def test_refused_addresses(addr: str) -> None:
    assert is_refused_address(addr)


@pytest.mark.parametrize("addr", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(addr: str) -> None:
    assert not is_refused_address(addr)
