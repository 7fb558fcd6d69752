"""Local accounts, tokens and passwords: the logic behind `fedi user create` and `fedi token create`."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from fedi.errors import BadRequest, NotFound, Unauthorized
from fedi.models import Account, Token
from fedi.signatures import generate_keypair
from fedi.urls import Urls

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
INSTANCE_ACTOR = "instance.actor"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$", 2)
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(got.hex(), digest)


async def create_user(urls: Urls, username: str, display_name: str = "", password: str | None = None) -> Account:
    name = username.strip()
    if not USERNAME_RE.match(name):
        raise BadRequest(f"invalid username {username!r}: use 1-30 of a-z, 0-9 and _")
    if await Account.filter(username=name, domain=None).exists():
        raise BadRequest(f"user {name!r} already exists")
    private_pem, public_pem = generate_keypair()
    try:
        return await Account.create(
            username=name, domain=None, uri=urls.actor(name), url=urls.profile(name),
            display_name=display_name or name, inbox=urls.inbox(name), shared_inbox=urls.shared_inbox(),
            outbox=urls.outbox(name), followers_url=urls.followers(name), following_url=urls.following(name),
            key_id=urls.key_id(name), public_key_pem=public_pem, private_key_pem=private_pem,
            password_hash=hash_password(password) if password else None,
        )
    except IntegrityError as exc:
        raise BadRequest(f"user {name!r} already exists") from exc


async def local_user(username: str) -> Account:
    account = await Account.get_or_none(username=username, domain=None, actor_type="Person")
    if account is None or account.suspended:
        raise NotFound(f"no such user: {username}")
    return account


async def instance_actor(urls: Urls) -> Account:
    """The Application actor that signs our fetches; created on first start."""
    account = await Account.get_or_none(username=INSTANCE_ACTOR, domain=None)
    if account is not None:
        return account
    private_pem, public_pem = generate_keypair()
    uri = urls.instance_actor()
    account, _ = await Account.get_or_create(
        username=INSTANCE_ACTOR, domain=None,
        defaults=dict(uri=uri, url=urls.base, actor_type="Application", display_name=urls.domain,
                      inbox=f"{uri}/inbox", shared_inbox=urls.shared_inbox(), key_id=f"{uri}#main-key",
                      public_key_pem=public_pem, private_key_pem=private_pem, discoverable=False,
                      manually_approves_followers=True))
    return account


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(account: Account, scopes: str = "read write follow push") -> str:
    token = secrets.token_urlsafe(32)
    await Token.create(digest=_digest(token), account=account, scopes=scopes)
    return token


async def token_row(token: str) -> Token:
    """A live token: known, not revoked, not expired."""
    row = await Token.get_or_none(digest=_digest(token)).select_related("account")
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at < datetime.now(UTC)):
        raise Unauthorized("The access token is invalid")
    return row


async def account_for_token(token: str) -> Account:
    row = await token_row(token)
    if row.account is None or row.account.suspended:
        raise Unauthorized("This method requires an authenticated user")
    return row.account
