"""Bearer tokens for the client API."""

from __future__ import annotations

from quart import request

from fedi.accounts import account_for_token
from fedi.errors import Unauthorized
from fedi.models import Account


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.args.get("access_token") or None


async def require_account() -> Account:
    token = bearer()
    if not token:
        raise Unauthorized("The access token is invalid")
    return await account_for_token(token)


async def optional_account() -> Account | None:
    token = bearer()
    return await account_for_token(token) if token else None
