"""Typed application state, built once by create_app and shared by every request and worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fedi.config import Config
from fedi.urls import Urls

if TYPE_CHECKING:
    from fedi.generation import Generator
    from fedi.http import HttpClient
    from fedi.models import Account
    from inbox.worker import InboxWorker
    from outbox.deliver import Deliverer


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

    @property
    def signer(self) -> tuple[str, str]:
        """(keyId, private PEM) of the instance actor, which signs our fetches."""
        assert self.instance_actor is not None and self.instance_actor.private_key_pem
        return self.instance_actor.key_id or "", self.instance_actor.private_key_pem

    def wake_delivery(self) -> None:
        if self.deliverer is not None:
            self.deliverer.wake()
