"""Clients that hang up mid-request must not wedge the database (a tortoise-orm trap)."""

from __future__ import annotations

import asyncio
import random

import aiohttp
import orjson

from fedi.accounts import create_token, create_user
from fedi.signatures import sign_headers
from tests.helpers import TestInstance, person, served_app
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM


async def test_client_disconnects_mid_request_leave_the_server_working(database_url, tmp_path):
    async with served_app(database_url, tmp_path) as (app, port):
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            alice = await create_user(app.state.urls, "alice")
            token = await create_token(alice)
            helper = TestInstance.__new__(TestInstance)
            helper.state = app.state
            remote = "https://remote.test/users/rita"
            await helper.remote_actor(person(remote, "rita"), ALICE_PUBLIC_PEM)
            async with http.post(f"{base}/api/v1/statuses", json={"status": "hi"},
                                 headers={"Authorization": f"Bearer {token}"}) as r:
                status = await r.json()

            async def like_and_hang_up(n: int) -> None:
                doc = {"id": f"{remote}#likes/{n}", "type": "Like", "actor": remote, "object": status["uri"]}
                body = orjson.dumps(doc)
                headers = sign_headers("POST", f"{base}/inbox", f"{remote}#main-key", ALICE_PRIVATE_PEM, body,
                                       {"Content-Type": "application/activity+json"})
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"POST /inbox HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
                await asyncio.sleep(random.uniform(0, 0.01))  # noqa: S311
                writer.transport.abort()  # hang up without waiting for the answer

            for batch in range(10):
                await asyncio.gather(*(like_and_hang_up(batch * 10 + i) for i in range(10)))
            # the server still answers queries, and a normal Like is applied
            async with asyncio.timeout(10):
                async with http.get(f"{base}/api/v1/statuses/{status['id']}",
                                    headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 200
                    hung_up_likes = (await r.json())["favourites_count"]
                assert 0 <= hung_up_likes <= 1  # one actor, one like at most
