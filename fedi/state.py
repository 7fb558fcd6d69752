"""Typed application state, built once by create_app and shared by every request and worker."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fedi.config import Config
from fedi.urls import Urls

if TYPE_CHECKING:
    from fedi.generation import Generator
    from fedi.http import HttpClient
    from fedi.models import Account
    from inbox.worker import InboxWorker
    from outbox.deliver import Deliverer


LOCAL_TTL = 5.0


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
    like_batcher: Any = None
    stream_hub: Any = None
    limiter: Any = None

    async def local_account(self, username: str) -> Account | None:
        """A local account by username, from a short-lived cache (discovery and inbox hot paths).

        Profile changes through the API invalidate it; changes from another process show within
        LOCAL_TTL seconds."""
        from fedi.models import Account

        now = time.monotonic()
        hit = self.local_cache.get(username)
        if hit is not None and now - hit[0] < LOCAL_TTL:
            return hit[1]
        account = await Account.get_or_none(username=username, domain=None)
        if len(self.local_cache) > 10_000:
            self.local_cache.clear()
        self.local_cache[username] = (now, account)
        return account

    def forget_local(self, username: str) -> None:
        self.local_cache.pop(username, None)

    @property
    def signer(self) -> tuple[str, str]:
        """(keyId, private PEM) of the instance actor, which signs our fetches."""
        assert self.instance_actor is not None and self.instance_actor.private_key_pem
        return self.instance_actor.key_id or "", self.instance_actor.private_key_pem

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake()
