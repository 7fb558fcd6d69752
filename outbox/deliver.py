"""Delivery worker: due Delivery rows -> signed POST -> done | retry with backoff | dead."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import cast

from fedi.admin import DOMAIN_BLOCKED, SENDER_SUSPENDED, blocked_by, blocked_domains
from fedi.errors import RemoteError
from fedi.http import Blocked
from fedi.models import Account, Delivery, Host
from fedi.signatures import sign_headers
from fedi.state import State

log = logging.getLogger("fedi.deliver")
MAX_ATTEMPTS = 17            # the first try and 16 retries, like Mastodon: waits of 15 s, 16 s, 31 s, 96 s ... 14 h
GIVE_UP_AFTER = timedelta(days=7)   # deliveries to a host marked unavailable end after this
FAILURE_DAYS = 3             # a host failing on this many distinct days is marked unavailable
CONCURRENCY = 64
PER_HOST = 8
BATCH = 500
IDLE_WAIT = 5.0


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts` (1-based): 15 + n**4 seconds, n = attempts - 1, plus jitter."""
    n = attempts - 1
    base = 15 + n**4
    return timedelta(seconds=base + random.uniform(0, base * 0.1))  # noqa: S311 - jitter, not security


def retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), 86400))
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(timedelta(0), min(when - datetime.now(UTC), timedelta(days=1)))
    return None


def is_permanent(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 429)


class Deliverer:
    def __init__(self, state: State, *, concurrency: int = CONCURRENCY, per_host: int = PER_HOST) -> None:
        self.state = state
        self._event = asyncio.Event()
        self._stopping = False
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: dict[int, tuple[str, str]] = {}
        self._done: list[int] = []
        self._failing: set[str] | None = None

    def wake(self) -> None:
        self._event.set()

    async def stop(self) -> None:
        self._stopping = True
        self._event.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        await self._flush()

    async def run(self) -> None:
        while not self._stopping:
            try:
                wait = await self.run_once(wait_for_all=False)
            except Exception:  # a database hiccup must not kill the worker
                log.exception("delivery loop failed; retrying in 1 s")
                wait = 1.0
            if self._stopping:
                break
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=wait)

    async def run_once(self, *, wait_for_all: bool = True) -> float:
        """Start every due delivery; returns how long the loop may sleep before the next is due."""
        now = datetime.now(UTC)
        due = await Delivery.filter(state="pending", next_try__lte=now).exclude(
            id__in=list(self._inflight) or [0]).order_by("next_try", "id").limit(BATCH)
        full = len(due) == BATCH
        if due:
            due = await self._refuse(due)
        unavailable = set(cast(list[str], await Host.filter(unavailable=True).values_list("domain", flat=True)))
        expired = [d.id for d in due if d.host in unavailable and now - d.created_at > GIVE_UP_AFTER]
        if expired:
            await Delivery.filter(id__in=expired).update(state="dead", last_error="host unavailable for a week")
        postponed = [d.id for d in due if d.host in unavailable and d.id not in expired]
        if postponed:
            await Delivery.filter(id__in=postponed).update(next_try=now + timedelta(days=1),
                                                           last_error="host marked unavailable")
        for delivery in due:
            if delivery.host in unavailable:
                continue
            self._inflight.add(delivery.id)
            task = asyncio.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if wait_for_all:
            while self._tasks:
                await asyncio.wait(list(self._tasks))
            await self._flush()
        if full:
            return 0.0
        nxt = cast(datetime | None, await Delivery.filter(state="pending").order_by("next_try").first()
                   .values_list("next_try", flat=True))
        if nxt is None:
            return IDLE_WAIT
        return max(0.05, min(IDLE_WAIT, (nxt - datetime.now(UTC)).total_seconds()))

    async def _refuse(self, due: list[Delivery]) -> list[Delivery]:
        """Deliveries to a blocked server, or from a suspended (not deleted) account, end dead unsent.
        A deleted local account is suspended and gone: its Delete(actor) still goes out."""
        blocked = await blocked_domains(self.state)
        refused = {d.id: DOMAIN_BLOCKED for d in due if blocked and blocked_by(d.host, blocked)}
        senders = list({d.sender_id for d in due})
        suspended = {r["id"] for r in await Account.filter(id__in=senders, suspended=True, gone=False).values("id")}
        refused.update({d.id: SENDER_SUSPENDED for d in due if d.sender_id in suspended and d.id not in refused})
        for reason in set(refused.values()):
            await Delivery.filter(id__in=[i for i, r in refused.items() if r == reason], state="pending").update(
                state="dead", last_error=reason)
        return [d for d in due if d.id not in refused] if refused else due

    async def _key(self, sender_id: int) -> tuple[str, str]:
        if sender_id not in self._keys:
            sender = await Account.get(id=sender_id)
            self._keys[sender_id] = (sender.key_id or "", sender.private_key_pem or "")
        return self._keys[sender_id]

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            async with self._global, self._hosts[delivery.host]:
                key_id, pem = await self._key(delivery.sender_id)
                body = delivery.body.encode()
                headers = sign_headers("POST", delivery.inbox, key_id, pem, body,
                                       {"Content-Type": "application/activity+json"})
                try:
                    resp = await self.state.http.post(delivery.inbox, body, headers)
                    status, error, after = resp.status, None, retry_after(resp.headers.get("Retry-After"))
                except Blocked as exc:  # refused by policy (private address, scheme): retrying cannot help
                    status, error, after = 403, f"refused: {exc}"[:500], None
                except RemoteError as exc:
                    status, error, after = getattr(exc, "status", None) or 0, str(exc)[:500], None
            await self._record(delivery, status, error, after)
        except Exception:
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            if delivery.id not in self._done:  # a done one stays in flight until _flush marks it done
                self._inflight.discard(delivery.id)

    async def _record(self, d: Delivery, status: int, error: str | None, after: timedelta | None) -> None:
        if 200 <= status < 300:
            self._done.append(d.id)
            if len(self._done) >= 50 or not self._tasks or len(self._tasks) <= 1:
                await self._flush()
            if d.host in await self._failing_hosts():
                self._failing.discard(d.host)  # type: ignore[union-attr]
                await Host.filter(domain=d.host).update(failure_days=[], unavailable=False,
                                                        last_success=datetime.now(UTC))
            return
        attempts = d.attempts + 1
        message = error or f"HTTP {status}"
        if is_permanent(status) or attempts >= MAX_ATTEMPTS:
            await Delivery.filter(id=d.id).update(state="dead", attempts=attempts, last_status=status or None,
                                                  last_error=message)
            log.info("delivery %s to %s dead: %s", d.id, d.inbox, message)
            return
        wait = max(backoff(attempts), after or timedelta(0))
        await Delivery.filter(id=d.id).update(attempts=attempts, last_status=status or None, last_error=message,
                                              next_try=datetime.now(UTC) + wait)
        if status == 0 or status >= 500:
            (await self._failing_hosts()).add(d.host)
            await _host_failed(d.host)

    async def host_talked(self, domain: str) -> None:
        """A remote server sent us an activity: if we had given up on it, deliver to it again now."""
        failing = await self._failing_hosts()
        if domain in failing:
            failing.discard(domain)
            await host_alive(domain)
            self.wake()

    async def _failing_hosts(self) -> set[str]:
        if self._failing is None:
            self._failing = set(cast(list[str], await Host.all().values_list("domain", flat=True)))
        return self._failing

    async def _flush(self) -> None:
        done, self._done = self._done, []
        if done:
            await Delivery.filter(id__in=done).update(state="done", last_status=200, last_error=None)
            self._inflight.difference_update(done)


async def _host_failed(domain: str) -> None:
    today = datetime.now(UTC).date().isoformat()
    host, _ = await Host.get_or_create(domain=domain)
    if today not in host.failure_days:
        host.failure_days = [*host.failure_days, today][-10:]
        host.unavailable = len(host.failure_days) >= FAILURE_DAYS
        await host.save()


async def host_alive(domain: str) -> None:
    """A host we had given up on talked to us: deliver to it again, now."""
    if await Host.filter(domain=domain).update(unavailable=False, failure_days=[]):
        await Delivery.filter(host=domain, state="pending").update(next_try=datetime.now(UTC))
