"""The `fedi` command: serve, user, token create, post, generate, deliveries, domain, doctor, db copy, demo.

One module per group of commands: common.py (shared helpers), parser.py (the arguments), content.py
(token, post, generate), ops.py (the operator's commands), server.py (serve, demo)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from tortoise.exceptions import BaseORMException

from fedi.cli.common import CliError, with_db
from fedi.cli.content import cmd_generate, cmd_post, cmd_token_create
from fedi.cli.ops import (
    cmd_db_copy,
    cmd_deliveries,
    cmd_doctor,
    cmd_domain_block,
    cmd_domain_list,
    cmd_domain_unblock,
    cmd_user_create,
    cmd_user_delete,
    cmd_user_list,
    cmd_user_reset_password,
    cmd_user_suspend,
    cmd_user_unsuspend,
)
from fedi.cli.parser import build_parser
from fedi.cli.server import demo, serve
from fedi.config import Config
from fedi.errors import ConfigError, FediError

__all__ = ["CliError", "main"]


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
    args = build_parser().parse_args(argv)
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
        asyncio.run(with_db(cfg, lambda: command(cfg, args)))
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
