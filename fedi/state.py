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
    from fedi.streaming import StreamHub
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
    stream_hub: StreamHub | None = None
    limiter: Any = None

    async def local_account(self, username: str) -> Account | None:
        """A local account by username, from a short-lived cache (discovery and inbox hot paths).

        Profile changes through the API invalidate it; changes from another process show within
        LOCAL_TTL seconds."""
        hit = self._fresh_local(username)
        if hit is not None:
            return hit[0]
        # A miss is one query however many requests wait for it (no thundering herd of identical
        # queries queued on the one SQLite connection when an entry expires).
        return await asyncio.shield(self.local_loading.get(username) or self._load_local(username))

    def cached_local(self, username: str) -> Account | None:
        """The cached local account while its entry is fresh, else None (no query is waited for)."""
        hit = self._fresh_local(username)
        return hit[0] if hit is not None else None

    def _fresh_local(self, username: str) -> tuple[Account | None] | None:
        """(account or None,) from a fresh cache entry, None on a miss. In an entry's last
        LOCAL_REFRESH_AHEAD seconds one background query renews it, so busy traffic never misses."""
        hit = self.local_cache.get(username)
        if hit is None:
            return None
        age = time.monotonic() - hit[0]
        if age >= LOCAL_TTL:
            return None
        if age > LOCAL_TTL - LOCAL_REFRESH_AHEAD and username not in self.local_loading:
            self._load_local(username)
        return (hit[1],)

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
        body = self.cached_doc(kind, account)
        if body is not None:
            return body
        body = orjson.dumps(make())
        key = (kind, account.id)
        if len(self.docs) > 10_000:
            self.docs.clear()
        self.docs[key] = (account, body)
        return body

    def cached_doc(self, kind: str, account: Account) -> bytes | None:
        hit = self.docs.get((kind, account.id))
        return hit[1] if hit is not None and hit[0] is account else None

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
