"""The `fedi` command line's arguments (argparse)."""

from __future__ import annotations

import argparse

from fedi import __version__


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


def build_parser() -> argparse.ArgumentParser:
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
