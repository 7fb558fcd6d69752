"""Queued inbox work: activities that need a remote fetch before they can be applied."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from fedi.activitystreams import get_id
from fedi.actors import get_actor, host_of
from fedi.admin import is_blocked
from fedi.db import atomic
from fedi.errors import FediError, RemoteError
from fedi.models import Account, InboxItem
from fedi.state import State
from inbox.handlers import HANDLERS, Ctx, NeedsFetch
from inbox.notes import is_post

log = logging.getLogger("fedi.inbox")
MAX_ATTEMPTS = 8


class InboxWorker:
    def __init__(self, state: State) -> None:
        self.state = state
        self._event = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._event.set()

    async def stop(self) -> None:
        self._stopping = True
        self._event.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:
                log.exception("inbox worker failed; retrying")
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=5)

    async def run_once(self) -> int:
        items = await InboxItem.filter(state="queued", next_try__lte=datetime.now(UTC)).order_by("id").limit(50)
        for item in items:
            if self._stopping:
                break
            await self._process(item)
        return len(items)

    async def _process(self, item: InboxItem) -> None:
        doc = item.body
        try:
            target = get_id(doc.get("object")) or ""
            if await is_blocked(self.state, host_of(target)):
                raise RemoteError(f"{host_of(target)} is blocked")
            fetched = await self.state.http.get_json(target, signer=self.state.signer)
            if not is_post(fetched) or host_of(fetched["id"]) != host_of(get_id(doc.get("object")) or "") \
                    or host_of(get_id(fetched.get("attributedTo")) or "") != host_of(fetched["id"]):
                raise RemoteError("the fetched object is not a post by an author on its own host")
            await get_actor(self.state, get_id(fetched.get("attributedTo")) or "")
            actor = await Account.get(uri=item.actor_uri)

            async def work() -> None:
                await HANDLERS[item.type](Ctx(self.state, doc, actor, fetched=fetched))
                await InboxItem.filter(id=item.id).update(state="done", last_error=None)

            await atomic(work)
        except Exception as exc:  # any failure counts an attempt, so one item never blocks the queue
            if not isinstance(exc, FediError | RemoteError | NeedsFetch):
                log.exception("queued activity %s failed", item.uri)
            attempts = item.attempts + 1
            state = "failed" if attempts >= MAX_ATTEMPTS else "queued"
            await InboxItem.filter(id=item.id).update(
                attempts=attempts, state=state, last_error=str(exc)[:500],
                next_try=datetime.now(UTC) + timedelta(seconds=30 * 2**attempts))
