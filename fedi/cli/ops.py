"""The operator's commands: `fedi user ...`, `fedi domain ...`, `fedi deliveries`, `fedi db copy`, `fedi doctor`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from fedi import progress
from fedi.cli.common import CliError, find_post, state_for, wake_server
from fedi.config import Config
from fedi.errors import ConfigError


def _print_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str],
                empty: str | None = None) -> None:
    """A listing: JSON with --json, else one line per row (and `empty` when there are none)."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows and empty is not None:
        print(empty)
    for row in rows:
        print(line(row))


async def cmd_user_create(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import create_user
    from fedi.urls import Urls
    account = await create_user(Urls(cfg), args.name, args.display_name, args.password)
    print(account.uri)


async def cmd_user_list(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import user_rows
    # the first three columns as before; counts after them
    _print_rows(await user_rows(), args.json, lambda r: f"{r['username']}\t{r['display_name']}\t{r['state']}\t"
                f"posts={r['posts']}\tfollowers={r['followers']}\tfollowing={r['following']}")


async def cmd_user_suspend(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import set_suspended
    account, changed = await set_suspended(args.name, True)
    print(f"suspended {account.username}" if changed else f"{account.username} was already suspended")


async def cmd_user_unsuspend(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import set_suspended
    account, changed = await set_suspended(args.name, False)
    print(f"unsuspended {account.username}" if changed else f"{account.username} was not suspended")


async def cmd_user_reset_password(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import reset_password
    account, password = await reset_password(args.name, args.password)
    if args.password is None:
        print(f"new password for {account.username}:")
        print(password)
    else:
        print(f"password of {account.username} changed")


async def cmd_user_delete(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import delete_user, local_person
    account = await local_person(args.name, gone_ok=True)
    if not args.yes:
        raise CliError(f"this deletes {account.username}'s posts, media and follows for good: add --yes to confirm")
    state = state_for(cfg)
    with progress.bar(f"deleting {account.username}'s posts") as step:
        result = await delete_user(state, account.username, step)
    wake_server(cfg)
    told = "" if result.resumed else f"; Delete queued for {result.delete_queued} inbox(es)"
    again = " (finished an earlier deletion)" if result.resumed else ""
    print(f"deleted {result.username}{again}: {result.posts} posts, {result.media} media ({result.files} files), "
          f"{result.follows} follows, {result.likes} likes{told}")


async def cmd_domain_block(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import block_domain
    result = await block_domain(args.domain, args.reason, own_domain=cfg.domain)
    what = "blocked" if result.created else "already blocked"
    print(f"{what} {result.domain}: removed {result.follows_removed} follows, "
          f"{result.deliveries_dead} pending deliveries marked dead")


async def cmd_domain_unblock(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import unblock_domain
    print(f"unblocked {await unblock_domain(args.domain)}")


async def cmd_domain_list(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import list_blocks
    _print_rows(await list_blocks(), args.json, lambda r: f"{r['domain']}\t{r['created_at']}\t{r['reason']}",
                "no blocked domains")


async def cmd_deliveries(cfg: Config, args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from fedi.models import Delivery, Host
    if args.retry_now:
        await Host.filter(unavailable=True).update(unavailable=False, failure_days=[])
        count = await Delivery.filter(state="pending").update(next_try=datetime.now(UTC))
        wake_server(cfg)
        print(f"{count} pending deliveries are due now")
        return
    if args.summary:
        await _deliveries_summary(args)
        return
    post = await find_post(args.post, deleted=True) if args.post else None
    if args.retry_dead:
        from fedi.admin import retry_dead
        with progress.bar("requeueing dead deliveries") as step:
            count = await retry_dead(post.id if post is not None else None, step)
        wake_server(cfg)
        print(f"{count} dead deliveries requeued")
        return
    query = Delivery.all()
    if post is not None:
        query = query.filter(post_id_ref=post.id)
    if args.state or post is None:
        query = query.filter(state=args.state or "pending")
    rows = await query.order_by("id").limit(1000)
    out = [{"inbox": d.inbox, "activity": d.activity_uri, "state": d.state, "attempts": d.attempts,
            "last_status": d.last_status, "last_error": d.last_error,
            "next_try": d.next_try.isoformat() if d.state == "pending" else None} for d in rows]
    _print_rows(out, args.json, _delivery_line, "no deliveries")


def _delivery_line(d: dict[str, Any]) -> str:
    status = d["last_status"] or "-"
    extra = f" next try {d['next_try']}" if d["next_try"] else ""
    err = f" ({d['last_error']})" if d["last_error"] and d["state"] != "done" else ""
    return f"{d['state']:8} {status!s:>4} tries={d['attempts']} {d['inbox']}{err}{extra}"


async def _deliveries_summary(args: argparse.Namespace) -> None:
    from fedi.admin import delivery_summary
    rows = await delivery_summary()
    if args.state:
        rows = [r for r in rows if r[args.state]]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no deliveries")
        return
    width = max(len("host"), *(len(r["host"]) for r in rows))
    print(f"{'host':{width}}  {'pending':>7}  {'done':>6}  {'dead':>6}  last error")
    for r in rows:
        marks = "".join(f"[{m}] " for m in ("blocked", "unavailable") if r[m])
        err = (r["last_error"] or "-").splitlines()[0][:100] if r["last_error"] else "-"
        print(f"{r['host']:{width}}  {r['pending']:>7}  {r['done']:>6}  {r['dead']:>6}  {marks}{err}")


async def cmd_db_copy(cfg: Config, args: argparse.Namespace) -> None:
    """Not run through with_db: it opens both databases itself (and migrates the target first)."""
    from fedi.dbcopy import copy_database
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1")
    with progress.bars() as step:
        result = await copy_database(cfg, args.to, replace=args.replace, batch=args.batch_size, progress=step)
    print(f"copied {result.source} to {result.target} ({result.migrations} migration(s) applied to it first)")
    width = max(len("table"), *(len(name) for name, _ in result.counts))
    print(f"{'table':{width}}  {'rows':>9}")
    for name, n in result.counts:
        print(f"{name:{width}}  {n:>9}")
    rate = result.rows / result.seconds if result.seconds > 0 else 0
    print(f"{len(result.counts)} tables, {result.rows} rows, the same counts as the source, in {result.seconds:.1f} s "
          f"({rate:.0f} rows/s)")
    print(f"media files were not copied: they stay in {cfg.media_dir} and {cfg.data_dir / 'originals'}")
    print(f"next: set FEDI_DATABASE_URL to {result.target} (keep FEDI_DATA_DIR), start fedi, run `fedi doctor`")


def cmd_doctor() -> int:
    """Print one line per check; exit 1 when any FAILs. Runs on a broken set-up too: it never migrates."""
    from fedi.admin import Report, doctor
    try:
        cfg = Config.from_env()
    except ConfigError as exc:
        report = Report()
        report.add("FAIL", "config", str(exc))
    else:
        report = asyncio.run(doctor(cfg))
    for check in report.checks:
        print(f"{check.status:4} {check.name}: {check.detail}")
    for hint in report.hints:
        print(f"hint {hint}")
    if report.failed:
        names = ", ".join(dict.fromkeys(c.name for c in report.failed))
        print(f"fedi: doctor: {len(report.failed)} check(s) failed: {names}", file=sys.stderr)
        return 1
    return 0
