"""Operator actions behind `fedi user`, `fedi domain`, `fedi deliveries` and `fedi doctor`.

Each action checks everything first and raises a FediError (one line, changes nothing) when it
cannot be done; only then does it write, in transactions. The CLI prints the results.
Domain blocks are also read on hot paths (inbox, delivery, actor fetches): `blocked_domains(state)`
keeps them in memory for BLOCK_TTL seconds, so a block made by the CLI reaches a running server
within that time (and at once in the process that made it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import F, Q
from tortoise.functions import Count

from fedi.accounts import hash_password, password_problem
from fedi.db import atomic
from fedi.errors import BadRequest, NotFound
from fedi.models import (
    Account,
    Activity,
    AuthCode,
    Delivery,
    DomainBlock,
    Follow,
    Host,
    InboxItem,
    Like,
    Media,
    Notification,
    Post,
    Token,
    Tombstone,
)

BLOCK_TTL = 2.0
DELETE_BATCH = 200
DOMAIN_BLOCKED = "domain blocked"
SENDER_SUSPENDED = "sender suspended"
_LABEL = r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_PORT_RE = re.compile(r"^(.*?)(?::(\d{1,5}))?$")
Progress = Callable[[int, int], None]

# ---------------------------------------------------------------------------------------------
# Domain blocks


def normalise_domain(text: str) -> str:
    """host[:port], lowercased (IDN names in their ASCII form); raises BadRequest otherwise."""
    raw = text.strip()
    if "://" in raw or "/" in raw or "@" in raw:
        raise BadRequest(f"not a domain: {text!r} (give host or host:port, e.g. bad.example)")
    raw = raw.lower()
    raw = raw[:-1] if raw.endswith(".") else raw
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if not sep or (rest and not (rest.startswith(":") and port.isdigit())):
            raise BadRequest(f"not a domain: {text!r}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise BadRequest(f"not a domain: {text!r}") from exc
        _check_port(port, text)
        return f"[{host}]:{port}" if port else f"[{host}]"
    m = _PORT_RE.match(raw)
    host, port = (m.group(1), m.group(2) or "") if m else (raw, "")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise BadRequest(f"not a domain: {text!r}") from exc
    if not host or len(host) > 253 or not _HOST_RE.match(host):
        raise BadRequest(f"not a domain: {text!r} (give host or host:port, e.g. bad.example)")
    _check_port(port, text)
    return f"{host}:{port}" if port else host


def _check_port(port: str, text: str) -> None:
    if port and not 0 < int(port) < 65536:
        raise BadRequest(f"not a domain: {text!r} (bad port)")


def _split(netloc: str) -> tuple[str, str]:
    """(host, port) of a netloc; userinfo dropped."""
    netloc = netloc.rpartition("@")[2].lower()
    if netloc.startswith("["):
        host, _, rest = netloc.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = netloc.partition(":")
    return host, port


def blocked_by(netloc: str, blocked: Iterable[str]) -> str | None:
    """The block that covers a host[:port]: the same host[:port], or the host or a parent domain of it
    blocked without a port (a block of bad.example covers img.bad.example and bad.example:8443)."""
    blocked = blocked if isinstance(blocked, frozenset | set) else frozenset(blocked)
    if not blocked or not netloc:
        return None
    netloc = netloc.rpartition("@")[2].lower()
    if netloc in blocked:
        return netloc
    host, _ = _split(netloc)
    if host in blocked:
        return host
    if host.startswith("[") or _is_ip(host):
        return None
    parts = host.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[i:])
        if parent in blocked:
            return parent
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_of(uri: str) -> str:
    return (urlsplit(uri).netloc or "").lower()


_cache: dict[int, tuple[weakref.ref[Any], float, frozenset[str]]] = {}


async def blocked_domains(state: Any = None) -> frozenset[str]:
    """Every blocked domain; cached per State for BLOCK_TTL seconds (no cache without a state)."""
    now = time.monotonic()
    if state is not None:
        hit = _cache.get(id(state))
        if hit is not None and hit[0]() is state and now - hit[1] < BLOCK_TTL:
            return hit[2]
    domains = frozenset(str(d) for d in await DomainBlock.all().values_list("domain", flat=True))
    if state is not None:
        if len(_cache) > 64:
            for key in [k for k, v in _cache.items() if v[0]() is None]:
                del _cache[key]
        _cache[id(state)] = (weakref.ref(state), now, domains)
    return domains


def forget_blocks() -> None:
    """Drop the cached blocks (this process changed them)."""
    _cache.clear()


async def is_blocked(state: Any, *hosts: str) -> str | None:
    """The block covering any of these hosts (netlocs), or None."""
    blocked = await blocked_domains(state)
    if not blocked:
        return None
    return next((b for h in hosts if h and (b := blocked_by(h, blocked))), None)


@dataclass
class BlockResult:
    domain: str
    created: bool
    follows_removed: int = 0
    deliveries_dead: int = 0


async def block_domain(domain: str, reason: str = "", *, own_domain: str | None = None) -> BlockResult:
    """Block a server: record it, drop follows either way with its accounts, end pending deliveries to it."""
    name = normalise_domain(domain)
    if own_domain and blocked_by(own_domain, {name}):
        raise BadRequest(f"{name} would block this instance itself ({own_domain})")
    if len(reason) > 2000:
        raise BadRequest("the reason is longer than 2000 characters")

    async def work() -> BlockResult:
        existing = await DomainBlock.get_or_none(domain=name)
        if existing is None:
            await DomainBlock.create(domain=name, reason=reason)
        elif reason and reason != existing.reason:
            await DomainBlock.filter(domain=name).update(reason=reason)
        result = BlockResult(name, existing is None)
        covered = {name}
        domains = await Account.filter(domain__not_isnull=True).distinct().values_list("domain", flat=True)
        remote = [d for d in domains if isinstance(d, str) and blocked_by(d, covered)]
        if remote:
            result.follows_removed = await Follow.filter(
                Q(follower__domain__in=remote) | Q(target__domain__in=remote)).delete()
        hosts = await Delivery.filter(state="pending").distinct().values_list("host", flat=True)
        dead = [h for h in hosts if isinstance(h, str) and blocked_by(h, covered)]
        if dead:
            result.deliveries_dead = await Delivery.filter(state="pending", host__in=dead).update(
                state="dead", last_error=DOMAIN_BLOCKED)
        queued = await InboxItem.filter(state="queued").values("id", "actor_uri")
        drop = [q["id"] for q in queued if blocked_by(host_of(q["actor_uri"]), covered)]
        if drop:
            await InboxItem.filter(id__in=drop).update(state="failed", last_error=DOMAIN_BLOCKED)
        return result

    result = await atomic(work)
    forget_blocks()
    return result


async def unblock_domain(domain: str) -> str:
    name = normalise_domain(domain)
    if not await DomainBlock.filter(domain=name).delete():
        raise NotFound(f"{name} is not blocked")
    forget_blocks()
    return name


async def list_blocks() -> list[dict[str, Any]]:
    return [{"domain": b.domain, "reason": b.reason, "created_at": b.created_at.isoformat()}
            for b in await DomainBlock.all().order_by("domain")]


# ---------------------------------------------------------------------------------------------
# Local accounts


async def local_person(name: str, *, gone_ok: bool = False) -> Account:
    account = await Account.get_or_none(username=name.strip().lstrip("@"), domain=None, actor_type="Person")
    if account is None:
        raise NotFound(f"no such user: {name}")
    if account.gone and not gone_ok:
        raise BadRequest(f"user {account.username} was deleted")
    return account


async def set_suspended(name: str, suspended: bool, state: Any = None) -> tuple[Account, bool]:
    """Suspend or unsuspend; returns (account, changed). Suspending ends its pending deliveries."""
    account = await local_person(name)
    if account.suspended == suspended:
        return account, False

    async def work() -> None:
        await Account.filter(id=account.id).update(suspended=suspended)
        if suspended:
            await Delivery.filter(sender_id=account.id, state="pending").update(state="dead",
                                                                                last_error=SENDER_SUSPENDED)

    await atomic(work)
    account.suspended = suspended
    if state is not None:
        state.forget_local(account.username)
    return account, True


async def reset_password(name: str, password: str | None = None) -> tuple[Account, str]:
    """Set a new password (a generated one when none is given); returns it."""
    account = await local_person(name)
    problem = password_problem(password) if password is not None else None
    if problem is not None:
        raise BadRequest(f"the password {problem[1]}")
    new = password if password is not None else secrets.token_urlsafe(15)
    await Account.filter(id=account.id).update(password_hash=hash_password(new))
    return account, new


async def user_rows() -> list[dict[str, Any]]:
    """Every local person with its state and counts (posts, followers, following)."""
    accounts = await Account.filter(domain=None, actor_type="Person").order_by("id")
    ids = [a.id for a in accounts] or [0]
    posts = await _counts(Post.filter(account_id__in=ids, deleted_at=None, reblog_of_id=None), "account_id")
    followers = await _counts(Follow.filter(target_id__in=ids, accepted=True), "target_id")
    following = await _counts(Follow.filter(follower_id__in=ids, accepted=True), "follower_id")
    return [{"username": a.username, "display_name": a.display_name, "uri": a.uri,
             "state": "deleted" if a.gone else "suspended" if a.suspended else "active",
             "posts": posts.get(a.id, 0), "followers": followers.get(a.id, 0), "following": following.get(a.id, 0),
             "created_at": a.created_at.isoformat()} for a in accounts]


async def _counts(query: Any, key: str) -> dict[int, int]:
    rows = await query.annotate(n=Count("id")).group_by(key).values(key, "n")
    return {r[key]: r["n"] for r in rows}


@dataclass
class DeleteResult:
    username: str
    resumed: bool = False
    delete_queued: int = 0
    posts: int = 0
    media: int = 0
    files: int = 0
    follows: int = 0
    likes: int = 0


async def delete_user(state: Any, name: str, progress: Progress | None = None) -> DeleteResult:
    """Delete a local account: Delete(actor) queued to the servers that know it (signed with its key,
    which stays), then its posts, media (and files nothing else uses), follows, likes, tokens go.

    The Account row stays as a tombstone (suspended, gone) so its name is not reused and the queued
    Deletes can be signed. Work is done in batches; running it again on a deleted account finishes an
    interrupted clean-up without sending the Delete twice."""
    from fedi.urls import AS_PUBLIC
    from outbox import build
    from outbox.publish import enqueue, follower_inboxes, inbox_of
    account = await local_person(name, gone_ok=True)
    result = DeleteResult(account.username, resumed=account.gone)
    if not account.gone:
        inboxes = await follower_inboxes(account)
        followed = await Account.filter(followers_rel__follower_id=account.id, domain__not_isnull=True)
        inboxes |= {inbox_of(a) for a in followed if a.inbox}
        doc = build.activity("Delete", f"{account.uri}#delete", account.uri, account.uri,
                             to=[AS_PUBLIC], cc=[])

        async def first() -> int:
            await Delivery.filter(sender_id=account.id).delete()   # nothing else of it goes out any more
            queued = await enqueue(state, account, doc, inboxes, store=False)
            await Account.filter(id=account.id).update(suspended=True, gone=True, password_hash=None)
            await Token.filter(account_id=account.id).delete()
            await AuthCode.filter(account_id=account.id).delete()
            return queued

        result.delete_queued = await atomic(first)
        state.forget_local(account.username)
        state.wake_delivery()
    total = await Post.filter(account_id=account.id).count()
    done = 0
    if progress is not None:
        progress(0, total)
    while True:
        ids = await Post.filter(account_id=account.id).order_by("id").limit(DELETE_BATCH).values_list("id", flat=True)
        if not ids:
            break
        batch_files: set[tuple[str, str]] = set()
        result.media += await atomic(
            lambda ids=ids, found=batch_files: _remove_posts(list(ids), found))  # type: ignore[misc]
        result.files += _remove_files(state.cfg, await unused_files(batch_files))  # per batch: none left behind
        done += len(ids)
        result.posts += len(ids)
        if progress is not None:
            progress(min(done, total), max(total, done))

    files: set[tuple[str, str]] = set()

    async def rest() -> None:
        liked = [r["post_id"] for r in await Like.filter(account_id=account.id).values("post_id")]
        for i in range(0, len(liked), 500):   # one like per post and account: each count drops by one
            await Post.filter(id__in=liked[i:i + 500], favourites_count__gt=0).update(
                favourites_count=F("favourites_count") - 1)
        result.likes = await Like.filter(account_id=account.id).delete()
        result.follows = await Follow.filter(Q(follower_id=account.id) | Q(target_id=account.id)).delete()
        await Notification.filter(Q(account_id=account.id) | Q(from_account_id=account.id)).delete()
        result.media += await _remove_media(Media.filter(account_id=account.id), files)
        await Activity.filter(account_id=account.id).delete()
        await Account.filter(id=account.id).update(display_name="", summary="", avatar_url=None, header_url=None,
                                                    discoverable=False)

    await atomic(rest)
    result.files += _remove_files(state.cfg, await unused_files(files))
    return result


async def _remove_posts(ids: list[int], files: set[tuple[str, str]]) -> int:
    rows = await Post.filter(id__in=ids).values("uri", "local", "reblog_of_id", "in_reply_to_id")
    for counter, column in ((Counter(r["reblog_of_id"] for r in rows if r["reblog_of_id"]), "reblogs_count"),
                            (Counter(r["in_reply_to_id"] for r in rows if r["in_reply_to_id"]), "replies_count")):
        for target, n in counter.items():
            if target not in ids:
                await Post.filter(id=target, **{f"{column}__gte": n}).update(**{column: F(column) - n})
    uris = [r["uri"] for r in rows if r["local"] and not r["reblog_of_id"]]
    if uris:
        known = set(await Tombstone.filter(uri__in=uris).values_list("uri", flat=True))
        await Tombstone.bulk_create([Tombstone(uri=u, former_type="Note") for u in uris if u not in known])
    removed = await _remove_media(Media.filter(post_id__in=ids), files)
    await Activity.filter(post_id_ref__in=ids).delete()
    await Post.filter(id__in=ids).delete()
    return removed


async def _remove_media(query: Any, files: set[tuple[str, str]]) -> int:
    for m in await query.values("file_name", "thumb_name", "original_name"):
        files.update(("media", n) for n in (m["file_name"], m["thumb_name"]) if n)
        if m["original_name"]:
            files.add(("originals", m["original_name"]))
    return int(await query.delete())


def _remove_files(cfg: Any, files: set[tuple[str, str]]) -> int:
    """Unlink files no Media row names any more (identical uploads share one file)."""
    removed = 0
    for folder, name in sorted(files):
        if "/" in name or name.startswith("."):
            continue
        path = (cfg.media_dir if folder == "media" else cfg.data_dir / "originals") / name
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


async def unused_files(files: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (folder, name) pairs no Media row names any more."""
    used: set[tuple[str, str]] = set()
    for folder, columns in (("media", ("file_name", "thumb_name")), ("originals", ("original_name",))):
        names = sorted(n for f, n in files if f == folder)
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            for column in columns:
                rows = await Media.filter(**{f"{column}__in": chunk}).values(column)
                used |= {(folder, r[column]) for r in rows}
    return files - used


# ---------------------------------------------------------------------------------------------
# Deliveries


async def delivery_summary() -> list[dict[str, Any]]:
    """Per remote host: pending, done and dead deliveries, the latest error, blocked / unavailable."""
    rows = await Delivery.annotate(n=Count("id")).group_by("host", "state").values("host", "state", "n")
    hosts: dict[str, dict[str, Any]] = {}
    for r in rows:
        h = hosts.setdefault(r["host"], {"host": r["host"], "pending": 0, "done": 0, "dead": 0})
        h[r["state"]] = h.get(r["state"], 0) + r["n"]
    blocked = await blocked_domains()
    unavailable = {str(d) for d in await Host.filter(unavailable=True).values_list("domain", flat=True)}
    for h in hosts.values():
        last = None
        if h["pending"] or h["dead"]:
            last = await Delivery.filter(host=h["host"], last_error__not_isnull=True).exclude(state="done") \
                .order_by("-updated_at").first().values_list("last_error", flat=True)
        h["last_error"] = last
        h["blocked"] = blocked_by(h["host"], blocked) is not None
        h["unavailable"] = h["host"] in unavailable
    return sorted(hosts.values(), key=lambda h: (-(h["pending"] + h["dead"]), h["host"]))


async def retry_dead(post_id: int | None = None, progress: Progress | None = None) -> int:
    """Requeue dead deliveries (due now, attempts from zero), except to blocked servers and from
    suspended accounts; hosts they go to are no longer marked unavailable. progress(done, total) is
    called per batch of 500."""
    query = Delivery.filter(state="dead")
    if post_id is not None:
        query = query.filter(post_id_ref=post_id)
    rows = await query.values("id", "host", "sender_id")
    blocked = await blocked_domains()
    suspended = set(await Account.filter(id__in=list({r["sender_id"] for r in rows}) or [0], suspended=True,
                                         gone=False).values_list("id", flat=True))
    ids = [r["id"] for r in rows if not blocked_by(r["host"], blocked) and r["sender_id"] not in suspended]
    keep = set(ids)
    hosts = list({r["host"] for r in rows if r["id"] in keep})

    async def work() -> int:
        n = 0
        for i in range(0, len(ids), 500):
            n += await Delivery.filter(id__in=ids[i:i + 500], state="dead").update(
                state="pending", attempts=0, next_try=datetime.now(UTC))
            if progress is not None:
                progress(min(i + 500, len(ids)), len(ids))
        if hosts:
            await Host.filter(domain__in=hosts).update(unavailable=False, failure_days=[])
        return n

    return await atomic(work)


# ---------------------------------------------------------------------------------------------
# fedi doctor


@dataclass
class Check:
    status: str           # ok | warn | FAIL
    name: str
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def add(self, status: str, name: str, detail: str) -> None:
        self.checks.append(Check(status, name, detail))

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "FAIL"]


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def writable(path: Path) -> str | None:
    """None when a file can be created in the folder path, else why not."""
    if not path.exists():
        return "does not exist"
    if not path.is_dir():
        return "is not a folder"
    probe = path / f".fedi-doctor-{secrets.token_hex(4)}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"is not writable ({exc.strerror or exc})"
    return None


def _free_space(path: Path) -> tuple[int, int]:
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return usage.free, usage.total


def database_label(url: str) -> str:
    """The database URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return parts._replace(query="").geturl()


def sqlite_path(url: str) -> Path | None:
    path = url.split("://", 1)[1].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


async def doctor(cfg: Any) -> Report:
    """Check an instance's set-up without changing it and without any outbound HTTP."""
    from tortoise import Tortoise
    report = Report()
    _check_config(cfg, report)
    _check_folders(cfg, report)
    try:
        if await _check_database(cfg, report):
            await _check_queues(report)
    finally:
        with contextlib.suppress(Exception):
            await Tortoise.close_connections()
    _check_server(cfg, report)
    await _check_dns(cfg, report)
    report.hints.append("doctor makes no outbound requests; check HTTPS from outside with: "
                        f"curl -sSI {cfg.base_url}/.well-known/nodeinfo")
    return report


def _check_config(cfg: Any, report: Report) -> None:
    host, _ = _split(cfg.domain)
    loopback = is_loopback_host(host)
    report.add("ok", "config", f"{cfg.base_url} (FEDI_DOMAIN={cfg.domain}, FEDI_SCHEME={cfg.scheme})")
    if cfg.scheme == "http" and not loopback:
        report.add("warn", "scheme", f"FEDI_SCHEME=http for {cfg.domain}, which is not a loopback address: other "
                                     "servers expect https (http is for local testing)")
    if cfg.allow_private_addresses and not loopback:
        report.add("warn", "ssrf", "FEDI_ALLOW_PRIVATE_ADDRESSES=1 on an instance with a public domain: fedi may be "
                                   "made to fetch from your private network")


def _check_folders(cfg: Any, report: Report) -> None:
    problem = writable(cfg.data_dir)
    usable = problem is None
    if problem is None:
        report.add("ok", "data dir", f"{cfg.data_dir} is writable")
    elif problem == "does not exist" and writable(cfg.data_dir.parent) is None:
        usable = True
        report.add("warn", "data dir", f"{cfg.data_dir} does not exist yet (created at the first start)")
    else:
        report.add("FAIL", "data dir", f"{cfg.data_dir} {problem} (FEDI_DATA_DIR)")
    media_problems = []
    for folder in (cfg.media_dir, cfg.data_dir / "originals"):
        why = writable(folder)
        if why is not None and (why != "does not exist" or not usable):
            media_problems.append(f"{folder} {why}")
    if media_problems:
        report.add("FAIL", "media dir", "; ".join(media_problems))
    else:
        report.add("ok", "media dir", f"{cfg.media_dir} is writable" if cfg.media_dir.exists()
                   else f"{cfg.media_dir} is created at the first upload")
    try:
        free, total = _free_space(cfg.data_dir)
    except OSError as exc:
        report.add("warn", "disk", f"cannot tell the free space: {exc.strerror or exc}")
        return
    gib = free / 2**30
    detail = f"{gib:.1f} GiB free ({100 * free / max(total, 1):.0f}%) for {cfg.data_dir}"
    if free < 100 * 2**20:
        report.add("FAIL", "disk", detail)
    elif free < 2**30 or free < total * 0.05:
        report.add("warn", "disk", detail)
    else:
        report.add("ok", "disk", detail)


async def _check_database(cfg: Any, report: Report) -> bool:
    from tortoise import Tortoise
    from tortoise.connection import get_connection
    from tortoise.migrations.executor import MigrationExecutor

    from fedi.db import db_url, tortoise_config
    label = database_label(cfg.database_url)
    if cfg.is_sqlite:
        path = sqlite_path(cfg.database_url)
        if path is not None and not path.is_file():
            report.add("FAIL", "database", f"no database at {path}: `fedi serve` (or `fedi user create`) creates "
                                           "and migrates it")
            return False
    config = tortoise_config(db_url(cfg))
    try:
        await asyncio.wait_for(Tortoise.init(config=config, _enable_global_fallback=True), 15)
        conn = get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), 15)
        executor = MigrationExecutor(conn, config["apps"])
        pending = [step.migration for step in await executor.plan() if not step.backward]
        applied = await executor.recorder.applied_migrations()
    except Exception as exc:  # any driver error: the database is not usable
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.add("FAIL", "database", f"{label}: {text}")
        return False
    if not applied:
        report.add("FAIL", "database", f"{label} has no tables yet: `fedi serve` creates them at start-up")
        return False
    if pending:
        names = ", ".join(str(getattr(m, "name", m)) for m in pending)
        report.add("warn", "database", f"{label}: {len(pending)} migration(s) pending ({names}); they run when "
                                       "`fedi serve` starts")
    else:
        report.add("ok", "database", f"{label} is reachable, schema up to date ({len(applied)} migrations)")
    return True


async def _check_queues(report: Report) -> None:
    from datetime import timedelta
    now = datetime.now(UTC)
    pending = await Delivery.filter(state="pending").count()
    dead = await Delivery.filter(state="dead").count()
    overdue = await Delivery.filter(state="pending", next_try__lt=now - timedelta(minutes=10)).count()
    detail = f"{pending} pending, {dead} dead (details: fedi deliveries --summary)"
    if overdue:
        report.add("warn", "deliveries", f"{detail}; {overdue} overdue by more than 10 minutes: is `fedi serve` "
                                         "running?")
    else:
        report.add("ok", "deliveries", detail)
    hosts = sorted(str(h) for h in await Host.filter(unavailable=True).values_list("domain", flat=True))
    if hosts:
        shown = ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
        report.add("warn", "hosts", f"{len(hosts)} marked unavailable (deliveries to them wait): {shown}")
    else:
        report.add("ok", "hosts", "no remote host is marked unavailable")
    queued = await InboxItem.filter(state="queued").count()
    blocks = await DomainBlock.all().count()
    report.add("ok", "inbox", f"{queued} queued inbound activities; {blocks} blocked domain(s)")


def _check_server(cfg: Any, report: Report) -> None:
    try:
        info = json.loads((cfg.data_dir / "serve.json").read_text())
        pid = int(info["pid"])
        os.kill(pid, 0)
    except PermissionError:
        report.add("ok", "server", "`fedi serve` is running (another user's process)")
    except (OSError, ValueError, KeyError, TypeError):
        report.add("warn", "server", "no running `fedi serve` found for this data dir (nothing is delivered until "
                                     "it runs)")
    else:
        report.add("ok", "server", f"`fedi serve` is running (pid {pid}, {info.get('url', '?')})")


async def _check_dns(cfg: Any, report: Report) -> None:
    host, port = _split(cfg.domain)
    host = host.strip("[]")
    port_number = int(port) if port else (443 if cfg.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port_number, type=socket.SOCK_STREAM), 5)
    except (OSError, TimeoutError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        report.add("warn", "dns", f"{host} does not resolve ({why}): other servers cannot find this instance")
        return
    addresses = sorted({str(info[4][0]) for info in infos})
    shown = ", ".join(addresses[:4])
    if not is_loopback_host(host) and all(_private(a) for a in addresses):
        report.add("warn", "dns", f"{host} resolves only to private addresses ({shown}): other servers cannot "
                                  "reach it")
    else:
        report.add("ok", "dns", f"{host} resolves to {shown}")


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    return not ip.is_global
