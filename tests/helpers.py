"""In-process test instance and signed-request helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import zlib
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson
from PIL import Image

from fedi.config import Config
from fedi.signatures import sign_headers

FIXTURES = Path(__file__).parent / "fixtures"
DOMAIN = "fedi.test"


def fixture(path: str) -> dict[str, Any]:
    return json.loads((FIXTURES / path).read_text())


def png_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 4):
        image.putpixel((x, x % height), (x % 255, 20, 200))
    buf = BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def tiny_png() -> bytes:
    """A PNG written with the standard library only."""
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class TestInstance:
    """create_app on a real database, with a test client; deliveries are run by hand."""

    __test__ = False

    def __init__(self, database_url: str, tmp_path: Path, domain: str = DOMAIN, *, scheme: str = "https",
                 allow_private: bool = False) -> None:
        self.cfg = Config(domain=domain, scheme=scheme, data_dir=tmp_path / "data", database_url=database_url,
                          allow_private_addresses=allow_private)

    async def __aenter__(self) -> TestInstance:
        from fedi.app import create_app
        from inbox.worker import InboxWorker
        from outbox.deliver import Deliverer
        self.app = create_app(self.cfg, workers=False)
        # start-up runs the migrations; Quart's 6 s default is too short on a busy 2-core machine
        self._ctx = self.app.test_app_class(self.app, startup_timeout=60, shutdown_timeout=30)
        await self._ctx.__aenter__()
        self.state = self.app.state
        self.state.deliverer = Deliverer(self.state)
        self.state.inbox_worker = InboxWorker(self.state)
        self.client = self.app.test_client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ctx.__aexit__(None, None, None)

    async def user(self, name: str = "alice", **kw: Any) -> tuple[Any, str]:
        from fedi.accounts import create_token, create_user
        account = await create_user(self.state.urls, name, kw.get("display_name", name.title()))
        if kw.get("manual"):
            account.manually_approves_followers = True
            await account.save()
        return account, await create_token(account)

    async def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return await self.client.open(path, method=method, headers=headers, **kw)

    async def remote_actor(self, doc: dict[str, Any], public_pem: str) -> Any:
        """Store a remote actor as if fetched earlier, with a key we hold the private half of."""
        from fedi.actors import store_actor
        doc = dict(doc)
        key = dict(doc.get("publicKey") or {"id": doc["id"] + "#main-key", "owner": doc["id"]})
        key["publicKeyPem"] = public_pem
        doc["publicKey"] = key
        return await store_actor(self.state, doc)

    async def deliver(self, doc: dict[str, Any], key_id: str, private_pem: str,
                      path: str = "/inbox", *, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        """POST an activity to our inbox, signed like Mastodon signs it."""
        raw = body if body is not None else orjson.dumps(doc)
        signed = sign_headers("POST", f"{self.cfg.base_url}{path}", key_id, private_pem, raw,
                              {"Content-Type": "application/activity+json"})
        signed.update(headers or {})
        return await self.client.post(path, data=raw, headers=signed)


def person(uri: str, username: str, *, shared_inbox: str | None = None) -> dict[str, Any]:
    """A minimal remote actor document in Mastodon's shape."""
    base = uri.rsplit("/users/", 1)[0]
    return {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": username, "name": username.title(),
            "inbox": f"{uri}/inbox", "outbox": f"{uri}/outbox", "followers": f"{uri}/followers",
            "following": f"{uri}/following", "url": f"{base}/@{username}",
            "endpoints": {"sharedInbox": shared_inbox or f"{base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": ""}}


class Receiver:
    """A loopback HTTP server standing in for remote inboxes: records POSTs, answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: dict[str, tuple[int, dict[str, str]]] = {}

    async def __aenter__(self) -> Receiver:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            self.received.append((request.path, dict(request.headers), body))
            status, headers = self.answers.get(request.path, (202, {}))
            return web.Response(status=status, headers=headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.received]


@contextlib.asynccontextmanager
async def served_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Any, int]]:
    """fedi's app (no workers) served by hypercorn in this event loop on a free loopback port, once it
    answers; yields (app, port). For what the test client cannot show: real sockets, hang-ups, chunking."""
    import aiohttp
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HyperConfig

    from fedi.app import create_app
    from tests.federation.instance import free_port

    port = free_port()
    cfg = Config(domain=f"127.0.0.1:{port}", scheme="http", data_dir=tmp_path / "data", database_url=database_url)
    app = create_app(cfg, workers=False)
    hc = HyperConfig()
    hc.bind = [f"127.0.0.1:{port}"]
    hc.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, hc, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(30):
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/.well-known/nodeinfo") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.05)
        yield app, port
    finally:
        stop.set()
        await asyncio.wait_for(server, 15)
