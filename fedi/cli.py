"""The `fedi` command: serve, user, token create, post, generate, deliveries, domain, doctor, db copy, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise.exceptions import BaseORMException

from fedi import __version__, progress
from fedi.config import Config
from fedi.errors import ConfigError, FediError

log = logging.getLogger("fedi")


class CliError(Exception):
    """A one-line message for stderr and a non-zero exit."""


def _generation_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt")
    p.add_argument("--model")
    p.add_argument("--model-version")
    p.add_argument("--negative-prompt")
    p.add_argument("--seed")
    p.add_argument("--steps")
    p.add_argument("--sampler")
    p.add_argument("--guidance-scale")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="another parameter (repeat)")
    p.add_argument("--prompt-private", action="store_true", help="share the image, keep the prompt to yourself")
    p.add_argument("--ai-label", choices=["auto", "yes", "no"], default="auto",
                   help="label the post AI-generated (auto: when a model or prompt is given)")


def _generation(args: argparse.Namespace) -> Any:
    from fedi.generation_meta import Generation
    params = []
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param takes NAME=VALUE, not {item!r}")
        params.append({"name": name.strip(), "value": value})
    label = {"auto": None, "yes": True, "no": False}[args.ai_label]
    return Generation.parse({"model": args.model, "model_version": args.model_version, "prompt": args.prompt,
                             "negative_prompt": args.negative_prompt, "seed": args.seed, "steps": args.steps,
                             "sampler": args.sampler, "guidance_scale": args.guidance_scale, "parameters": params},
                            ai_label=label, prompt_private=args.prompt_private)


async def _find_post(ref: str, *, deleted: bool = False) -> Any:
    from fedi.models import Post
    post = await Post.get_or_none(id=int(ref)) if ref.isdigit() else await Post.get_or_none(uri=ref)
    if post is None or (post.deleted_at is not None and not deleted):
        raise CliError(f"no such post: {ref}")
    return post


COPY_HELP = """Copy every table of this instance's database (FEDI_DATABASE_URL, or the SQLite file in
FEDI_DATA_DIR) into the database named by --to, typically an empty PostgreSQL database.

Stop `fedi serve` first and back up: the copy reads a stopped instance. The target gets fedi's schema
(the migrations `fedi serve` applies), then all rows in one transaction, ids, timestamps and JSON as they
are; sequences are moved past the largest ids and the row counts are checked before the commit, so
either everything is copied or nothing. A target that already holds fedi data is refused (see
--replace). The source is not changed, except that pending migrations are applied to it first.

Media files are not copied: they stay in FEDI_DATA_DIR (media/, originals/); keep that folder.
Afterwards set FEDI_DATABASE_URL to the target, start fedi, run `fedi doctor`.

Example: fedi db copy --to postgres://fedi@127.0.0.1:5432/fedi"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fedi", description="A federated server for AI-generated images.")
    p.add_argument("--version", action="version", version=f"fedi {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app and the delivery workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    user = sub.add_parser("user", help="manage local accounts").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="create a local account")
    create.add_argument("name")
    create.add_argument("--display-name", default="")
    create.add_argument("--password")
    user_list = user.add_parser("list", help="list local accounts, their state and counts")
    user_list.add_argument("--json", action="store_true")
    for action, text in (("suspend", "suspend NAME: its tokens, actor and WebFinger stop working, nothing is sent"),
                         ("unsuspend", "lift a suspension")):
        user.add_parser(action, help=text).add_argument("name")
    delete = user.add_parser("delete", help="delete NAME for good: posts, media, follows; tells other servers")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    reset = user.add_parser("reset-password", help="set a new password (prints a generated one unless given)")
    reset.add_argument("name")
    reset.add_argument("--password")
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    token_create = token.add_parser("create", help="print a new bearer token for NAME")
    token_create.add_argument("name")
    post = sub.add_parser("post", help="publish an image post; prints its ActivityPub id")
    post.add_argument("name")
    post.add_argument("image", nargs="+")
    post.add_argument("--caption", default="")
    post.add_argument("--alt", default="", help="alt text of the image(s)")
    post.add_argument("--visibility", default="public", choices=["public", "unlisted", "private", "direct"])
    post.add_argument("--spoiler", default="", help="content warning")
    _generation_flags(post)
    post.add_argument("--license", help="licence of the image(s): a URL or an SPDX id, e.g. CC-BY-4.0")
    post.add_argument("--no-ai-training", action="store_true", help="say the image(s) may not be used to train AI")
    post.add_argument("--remix-of", help="the id or URL of the post this one remixes")
    post.add_argument("--no-remix", action="store_true", help="do not allow remixes of this post")
    gen = sub.add_parser("generate", help="make an image from a prompt and post it; prints its ActivityPub id")
    gen.add_argument("name")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--model")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--caption", default="")
    gen.add_argument("--negative-prompt")
    gen.add_argument("--size", default="1024x1024", help="WIDTHxHEIGHT")
    gen.add_argument("--visibility", default="public", choices=["public", "unlisted", "private", "direct"])
    gen.add_argument("--prompt-private", action="store_true")
    deliveries = sub.add_parser("deliveries", help="where a post (or everything pending) was delivered")
    deliveries.add_argument("post", nargs="?", help="a post id or its ActivityPub id; omit for the queue")
    deliveries.add_argument("--json", action="store_true")
    deliveries.add_argument("--state", choices=["pending", "done", "dead"], help="only deliveries in this state")
    what = deliveries.add_mutually_exclusive_group()
    what.add_argument("--retry-now", action="store_true", help="make every pending delivery due now")
    what.add_argument("--retry-dead", action="store_true", help="requeue dead deliveries (of POST, if given)")
    what.add_argument("--summary", action="store_true", help="per server: pending, done, dead, last error")
    domain = sub.add_parser("domain", help="block other servers").add_subparsers(dest="action", required=True)
    block = domain.add_parser("block", help="refuse DOMAIN's activities, send it nothing, drop follows with it")
    block.add_argument("domain", help="host or host:port; covers its subdomains")
    block.add_argument("--reason", default="")
    domain.add_parser("unblock", help="lift a block").add_argument("domain")
    domain.add_parser("list", help="blocked domains").add_argument("--json", action="store_true")
    sub.add_parser("doctor", help="check the configuration, database, folders, disk, DNS and queues")
    db = sub.add_parser("db", help="database tools").add_subparsers(dest="action", required=True)
    copy = db.add_parser("copy", help="copy this instance's data into another (empty) database, e.g. PostgreSQL",
                         description=COPY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    copy.add_argument("--to", required=True, metavar="URL", help="the target: postgres://user@host:port/db")
    copy.add_argument("--replace", action="store_true",
                      help="the target already holds fedi data: delete it and copy over it (in the same transaction)")
    copy.add_argument("--batch-size", type=int, default=1000, metavar="N", help="rows per batch (default 1000)")
    demo = sub.add_parser("demo", help="a local instance on 127.0.0.1:8000 with a demo account")
    demo.add_argument("--port", type=int, default=8000)
    return p


async def _with_db(cfg: Config, fn: Callable[[], Awaitable[Any]]) -> Any:
    from fedi.db import close_db, init_db
    try:
        await init_db(cfg)
        return await fn()
    finally:
        await close_db()  # always: an open aiosqlite thread would keep the process alive


def _state(cfg: Config) -> Any:
    from fedi.http import HttpClient
    from fedi.state import State
    from fedi.urls import Urls
    return State(cfg=cfg, urls=Urls(cfg), http=HttpClient(cfg, user_agent=f"fedi/{__version__}"))


async def cmd_user_create(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import create_user
    from fedi.urls import Urls
    account = await create_user(Urls(cfg), args.name, args.display_name, args.password)
    print(account.uri)


async def cmd_user_list(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.admin import user_rows
    rows = await user_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:  # the first three columns as before; counts after them
        print(f"{r['username']}\t{r['display_name']}\t{r['state']}\tposts={r['posts']}\t"
              f"followers={r['followers']}\tfollowing={r['following']}")


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
    state = _state(cfg)
    with progress.bar(f"deleting {account.username}'s posts") as step:
        result = await delete_user(state, account.username, step)
    _wake_server(cfg)
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
    rows = await list_blocks()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no blocked domains")
    for r in rows:
        print(f"{r['domain']}\t{r['created_at']}\t{r['reason']}")


async def cmd_token_create(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import create_token, local_user
    print(await create_token(await local_user(args.name)))


async def cmd_post(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import instance_actor, local_user
    from fedi.uploads import store_upload
    from outbox.publish import MAX_MEDIA, publish_post
    author = await local_user(args.name)
    if len(args.image) > MAX_MEDIA:
        raise CliError(f"at most {MAX_MEDIA} images a post")
    blobs = []
    for path in args.image:
        try:
            blobs.append(await asyncio.to_thread(Path(path).read_bytes))
        except OSError as exc:
            raise CliError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    generation = _generation(args)
    remix_of = await _find_post(args.remix_of) if args.remix_of else None
    state = _state(cfg)
    state.instance_actor = await instance_actor(state.urls)
    await state.http.start()
    try:
        media = [await store_upload(state, author, data, args.alt, license=args.license,
                                    ai_training=False if args.no_ai_training else None, claimed=(path, None))
                 for path, data in zip(args.image, blobs, strict=True)]
        post = await publish_post(state, author, caption=args.caption, media=media, visibility=args.visibility,
                                  spoiler_text=args.spoiler, generation=generation, remix_of=remix_of,
                                  remix_allowed=False if args.no_remix else None)
    finally:
        await state.http.close()
    _wake_server(cfg)
    print(post.uri)


async def cmd_generate(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import instance_actor, local_user
    from fedi.generation import GenerationRequest
    from outbox.generate import generate_and_post
    author = await local_user(args.name)
    width, sep, height = args.size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise CliError(f"--size takes WIDTHxHEIGHT, not {args.size!r}")
    request = GenerationRequest(prompt=args.prompt, negative_prompt=args.negative_prompt, model=args.model,
                                seed=args.seed, width=int(width), height=int(height))
    state = _state(cfg)
    state.instance_actor = await instance_actor(state.urls)
    await state.http.start()
    try:
        post = await generate_and_post(state, author, request, caption=args.caption, visibility=args.visibility,
                                       prompt_private=args.prompt_private)
    finally:
        await state.http.close()
    _wake_server(cfg)
    print(post.uri)


async def cmd_deliveries(cfg: Config, args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from fedi.models import Delivery, Host
    if args.retry_now:
        await Host.filter(unavailable=True).update(unavailable=False, failure_days=[])
        count = await Delivery.filter(state="pending").update(next_try=datetime.now(UTC))
        _wake_server(cfg)
        print(f"{count} pending deliveries are due now")
        return
    if args.summary:
        await _deliveries_summary(args)
        return
    post = await _find_post(args.post, deleted=True) if args.post else None
    if args.retry_dead:
        from fedi.admin import retry_dead
        with progress.bar("requeueing dead deliveries") as step:
            count = await retry_dead(post.id if post is not None else None, step)
        _wake_server(cfg)
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
    if args.json:
        print(json.dumps(out, indent=2))
        return
    if not out:
        print("no deliveries")
    for d in out:
        status = d["last_status"] or "-"
        extra = f" next try {d['next_try']}" if d["next_try"] else ""
        err = f" ({d['last_error']})" if d["last_error"] and d["state"] != "done" else ""
        print(f"{d['state']:8} {status!s:>4} tries={d['attempts']} {d['inbox']}{err}{extra}")


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
    """Not run through _with_db: it opens both databases itself (and migrates the target first)."""
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


def _serve_file(cfg: Config) -> Path:
    return cfg.data_dir / "serve.json"


def _wake_server(cfg: Config) -> None:
    """Tell a running `fedi serve` on the same data that there is new work (best effort)."""
    try:
        info = json.loads(_serve_file(cfg).read_text())
        req = urllib.request.Request(f"{info['url']}/internal/wake", method="POST", data=b"",  # noqa: S310
                                     headers={"X-Fedi-Wake": info["secret"]})
        with urllib.request.urlopen(req, timeout=2):  # noqa: S310 - our own loopback server
            pass
    except (OSError, ValueError, KeyError):
        pass  # no server running: it picks the work up when it starts


def serve(cfg: Config, host: str, port: int) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HyperConfig

    from fedi.app import create_app

    app = create_app(cfg)
    hc = HyperConfig()
    hc.bind = [f"{host}:{port}"]
    hc.accesslog = None
    hc.graceful_timeout = 10
    secret = secrets.token_urlsafe(24)
    app.state.wake_secret = secret
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in local_host:
        local_host = f"[{local_host}]"  # an IPv6 address in a URL
    cfg.data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        path = _serve_file(cfg)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": f"http://{local_host}:{port}", "secret": secret, "pid": os.getpid()}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

        async def shutdown() -> None:
            await stop.wait()
            if app.state.stream_hub is not None:  # open streams end now, not after the graceful timeout
                app.state.stream_hub.close()

        try:
            await hypercorn_serve(app, hc, shutdown_trigger=shutdown)
        finally:
            with contextlib.suppress(OSError):
                if json.loads(path.read_text()).get("pid") == os.getpid():
                    path.unlink()

    print(f"fedi {__version__} serving {cfg.base_url} on http://{host}:{port}", flush=True)
    asyncio.run(main())


def demo(port: int) -> None:
    os.environ.setdefault("FEDI_DOMAIN", f"127.0.0.1:{port}")
    os.environ.setdefault("FEDI_SCHEME", "http")
    cfg = Config.from_env()

    async def setup() -> str:
        from fedi.accounts import create_token, create_user, local_user
        from fedi.errors import NotFound
        from fedi.urls import Urls
        try:
            account = await local_user("demo")
        except NotFound:
            account = await create_user(Urls(cfg), "demo", "Demo", "demo-password")
            await _demo_post(cfg, account)
        return await create_token(account)

    token = asyncio.run(_with_db(cfg, setup))
    print(f"Demo account: demo@{cfg.domain} (password demo-password)")
    print(f"Open {cfg.base_url}/@demo   API token: {token}")
    print(f'Try: curl -H "Authorization: Bearer {token}" {cfg.base_url}/api/v1/accounts/verify_credentials')
    serve(cfg, "127.0.0.1", port)


def _demo_image() -> bytes:
    """A procedural picture, so a fresh demo instance has something to show."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (768, 512))
    draw = ImageDraw.Draw(image)
    for y in range(512):
        draw.line([(0, y), (768, y)], fill=(20 + y // 4, 30 + y // 6, 90 + y // 5))
    for i in range(12):
        x, y, r = 60 + i * 55, 300 - (i * 37) % 180, 20 + (i * 13) % 40
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(240, 140 + i * 8, 60))
    buf = BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


async def _demo_post(cfg: Config, account: Any) -> None:
    from fedi.accounts import instance_actor
    from fedi.generation_meta import Generation
    from fedi.uploads import store_upload
    from outbox.publish import publish_post
    state = _state(cfg)
    state.instance_actor = await instance_actor(state.urls)
    media = await store_upload(state, account, _demo_image(), "Orange suns over a violet gradient")
    generation = Generation.parse({"prompt": "orange suns over a violet gradient", "model": "fedi-demo"})
    await publish_post(state, account, caption="Hello from fedi", media=[media], generation=generation)


COMMANDS: dict[tuple[str, str | None], Callable[[Config, argparse.Namespace], Awaitable[None]]] = {
    ("user", "create"): cmd_user_create,
    ("user", "list"): cmd_user_list,
    ("user", "suspend"): cmd_user_suspend,
    ("user", "unsuspend"): cmd_user_unsuspend,
    ("user", "delete"): cmd_user_delete,
    ("user", "reset-password"): cmd_user_reset_password,
    ("domain", "block"): cmd_domain_block,
    ("domain", "unblock"): cmd_domain_unblock,
    ("domain", "list"): cmd_domain_list,
    ("token", "create"): cmd_token_create,
    ("post", None): cmd_post,
    ("generate", None): cmd_generate,
    ("deliveries", None): cmd_deliveries,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("FEDI_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    try:
        if args.command == "demo":
            demo(args.port)
            return 0
        if args.command == "doctor":
            return cmd_doctor()
        cfg = Config.from_env()
        if args.command == "serve":
            serve(cfg, args.host, args.port)
            return 0
        if args.command == "db":
            asyncio.run(cmd_db_copy(cfg, args))
            return 0
        command = COMMANDS[(args.command, getattr(args, "action", None))]
        asyncio.run(_with_db(cfg, lambda: command(cfg, args)))
        return 0
    except (CliError, ConfigError) as exc:
        print(f"fedi: {exc}", file=sys.stderr)
    except FediError as exc:
        print(f"fedi: {exc.message}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"fedi: {exc}", file=sys.stderr)
    except BaseORMException as exc:
        print(f"fedi: database error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
