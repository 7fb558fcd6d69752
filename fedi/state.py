"""Typed application state, built once by create_app and shared by every request and worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from fedi.config import Config
from fedi.urls import Urls

if TYPE_CHECKING:
    from fedi.generation import Generator
    from fedi.http import HttpClient
    from fedi.models import Account
    from inbox.worker import InboxWorker
    from outbox.deliver import Deliverer


LOCAL_TTL = 5.0
LOCAL_REFRESH_AHEAD = 1.0   # in a cached entry's last second, one background query renews it


@dataclass
class KeyInfo:
    account_id: int
    actor_uri: str
    public_key_pem: str


@dataclass
class State:
    cfg: Config
    urls: Urls
    http: HttpClient
    deliverer: Deliverer | None = None
    inbox_worker: InboxWorker | None = None
    instance_actor: Account | None = None
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    wake_secret: str = ""
    generator: Generator | None = None

    local_cache: dict[str, tuple[float, Account | None]] = field(default_factory=dict)
    local_loading: dict[str, asyncio.Task[Account | None]] = field(default_factory=dict)
    docs: dict[tuple[str, int], tuple[Account, bytes]] = field(default_factory=dict)
    like_batcher: Any = None
    stream_hub: Any = None
    limiter: Any = None

    async def local_account(self, username: str) -> Account | None:
        """A local account by username, from a short-lived cache (discovery and inbox hot paths).

        Profile changes through the API invalidate it; changes from another process show within
        LOCAL_TTL seconds."""
        now = time.monotonic()
        hit = self.local_cache.get(username)
        loading = self.local_loading.get(username)
        if hit is not None and now - hit[0] < LOCAL_TTL:
            # Renew ahead of expiry with one query, so busy traffic never sees a miss ...
            if loading is None and now - hit[0] > LOCAL_TTL - LOCAL_REFRESH_AHEAD:
                self._load_local(username)
            return hit[1]
        # ... and a miss is one query however many requests wait for it (no thundering herd of
        # identical queries queued on the one SQLite connection when an entry expires).
        return await asyncio.shield(loading or self._load_local(username))

    def _load_local(self, username: str) -> asyncio.Task[Account | None]:
        from fedi.models import Account

        async def load() -> Account | None:
            started = time.monotonic()
            try:
                account = await Account.get_or_none(username=username, domain=None)
            finally:
                mine = self.local_loading.get(username) is task
                if mine:
                    del self.local_loading[username]
            if mine:  # not forgotten meanwhile
                if len(self.local_cache) > 10_000:
                    self.local_cache.clear()
                self.local_cache[username] = (started, account)
            return account

        task = asyncio.get_running_loop().create_task(load())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a failed renewal is not an error
        self.local_loading[username] = task
        return task

    def account_doc(self, kind: str, account: Account, make: Callable[[], Any]) -> bytes:
        """The serialised `kind` document (WebFinger, actor) of a cached local account.

        Kept as long as local_account() hands out the same Account object: a reload (every
        LOCAL_TTL seconds) or forget_local() gives a new object and so a fresh document."""
        key = (kind, account.id)
        hit = self.docs.get(key)
        if hit is not None and hit[0] is account:
            return hit[1]
        body = orjson.dumps(make())
        if len(self.docs) > 10_000:
            self.docs.clear()
        self.docs[key] = (account, body)
        return body

    def forget_local(self, username: str) -> None:
        self.local_cache.pop(username, None)
        self.local_loading.pop(username, None)

    @property
    def signer(self) -> tuple[str, str]:
        """(keyId, private PEM) of the instance actor, which signs our fetches."""
        assert self.instance_actor is not None and self.instance_actor.private_key_pem
        return self.instance_actor.key_id or "", self.instance_actor.private_key_pem

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake()
