"""Insert remote follower Account rows and accepted Follow rows into a fedi instance's database, with
the fedi models of the code under test (bench_fanout.py runs this before `fedi serve` starts).

    python _followers.py '{"target": "alice", "bases": [...], "count": 1000, "shared": true, "tag": "sf"}'

Run as its own process with the server's environment (FEDI_* and PYTHONPATH = the code root), so the
models and migrations are those of the checkout being measured, not of the script's own checkout (an
older checkout given to --compare has an older schema). Not a test module (leading underscore).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def add_followers(target: str, bases: list[str], count: int, shared: bool, tag: str) -> None:
    from tortoise import Tortoise

    from fedi.config import Config
    from fedi.db import init_db
    from fedi.models import Account, Follow

    await init_db(Config.from_env(dict(os.environ)))
    try:
        local = await Account.get(username=target, domain=None)
        accounts = []
        for i in range(count):
            base = bases[i % len(bases)]
            host = base.split("://", 1)[1].split("/", 1)[0]
            uri = f"{base}/users/{tag}{i}"
            accounts.append(Account(
                username=f"{tag}{i}", domain=host, uri=uri, url=uri, inbox=f"{uri}/inbox",
                shared_inbox=f"{base}/inbox" if shared else None, outbox=f"{uri}/outbox",
                followers_url=f"{uri}/followers", key_id=f"{uri}#main-key", public_key_pem="-"))
        await Account.bulk_create(accounts, batch_size=500)
        ids = await Account.filter(uri__in=[a.uri for a in accounts]).values_list("id", flat=True)
        await Follow.bulk_create([Follow(uri=f"{bases[0]}/follows/{tag}{n}", follower_id=ident, target=local,
                                         accepted=True) for n, ident in enumerate(ids)], batch_size=500)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    asyncio.run(add_followers(spec["target"], spec["bases"], spec["count"], spec["shared"], spec["tag"]))


if __name__ == "__main__":
    main()
