"""Local accounts, tokens and passwords: the logic behind `fedi user create` and `fedi token create`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2 import exceptions as argon2_exceptions
from tortoise.exceptions import IntegrityError

from fedi.errors import BadRequest, NotFound, Unauthorized, Unprocessable
from fedi.models import DEFAULT_SCOPES, Account, App, Token
from fedi.signatures import generate_keypair
from fedi.urls import Urls

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
USERNAME_MAX = 30
INSTANCE_ACTOR = "instance.actor"
MIN_PASSWORD = 8               # characters, as Mastodon
MAX_PASSWORD = 1024            # characters; longer ones are refused before hashing
# Names people may not sign up with (the operator still may, with `fedi user create`): Mastodon's
# default reserved_usernames, the RFC 2142 role names for abuse reports, and the instance actor.
RESERVED_USERNAMES = frozenset({"admin", "administrator", "help", "mod", "moderator", "root", "support",
                                "webmaster", "abuse", "postmaster", "security", INSTANCE_ACTOR})


_hasher = PasswordHasher()     # argon2id with the library's (RFC 9106 low-memory) parameters
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """An argon2id hash (with its parameters and salt) in the PHC string format."""
    return _hasher.hash(password)


def _check_scrypt(password: str, stored: str) -> bool:
    """The hashes written before argon2: scrypt$SALT$DIGEST (hex)."""
    try:
        _, salt, digest = stored.split("$", 2)
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def check_password(password: str, stored: str | None) -> bool:
    """Whether the password matches the stored hash (argon2, or the older scrypt form).

    CPU- and memory-hard on purpose: call it off the event loop (asyncio.to_thread)."""
    if not stored:
        return False
    if stored.startswith("$argon2"):
        try:
            return _hasher.verify(stored, password)
        except (argon2_exceptions.VerificationError, argon2_exceptions.InvalidHashError):
            return False
    if stored.startswith("scrypt$"):
        return _check_scrypt(password, stored)
    return False


def password_needs_rehash(stored: str | None) -> bool:
    """True for hashes to replace after a successful login: scrypt ones, or argon2 with old parameters."""
    if not stored:
        return False
    if not stored.startswith("$argon2"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except argon2_exceptions.InvalidHashError:
        return True


def burn_password_check(password: str) -> None:
    """As long as a real check, for unknown users, so timing does not tell which usernames exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    check_password(password, _DUMMY_HASH)


async def create_user(urls: Urls, username: str, display_name: str = "", password: str | None = None) -> Account:
    name = username.strip()
    if not USERNAME_RE.match(name):
        raise BadRequest(f"invalid username {username!r}: use 1-30 of a-z, 0-9 and _")
    if await Account.filter(username=name, domain=None).exists():
        raise BadRequest(f"user {name!r} already exists")
    # key generation and password hashing take a while: off the event loop (the server signs people up)
    private_pem, public_pem = await asyncio.to_thread(generate_keypair)
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    try:
        return await Account.create(
            username=name, domain=None, uri=urls.actor(name), url=urls.profile(name),
            display_name=display_name or name, inbox=urls.inbox(name), shared_inbox=urls.shared_inbox(),
            outbox=urls.outbox(name), followers_url=urls.followers(name), following_url=urls.following(name),
            key_id=urls.key_id(name), public_key_pem=public_pem, private_key_pem=private_pem,
            password_hash=password_hash,
        )
    except IntegrityError as exc:
        raise BadRequest(f"user {name!r} already exists") from exc


# -- self-registration (the sign-up page and POST /api/v1/accounts) -------------------------------------

Problems = dict[str, list[tuple[str, str]]]      # field -> [(Mastodon error code, description)]


class RegistrationError(Unprocessable):
    """A sign-up refused, field by field, with Mastodon's error codes (ERR_TAKEN, ERR_RESERVED, ...)."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        super().__init__("Validation failed: " + ", ".join(self.sentences()))

    def sentences(self) -> list[str]:
        """"Username has already been taken", "Password is too short (minimum is 8 characters)", ..."""
        return [f"{field.replace('_', ' ').capitalize()} {text}"
                for field, items in self.problems.items() for _, text in items]

    def details(self) -> dict[str, list[dict[str, str]]]:
        """Mastodon's `details` of a 422: {"username": [{"error": "ERR_TAKEN", "description": ...}]}."""
        return {field: [{"error": code, "description": text} for code, text in items]
                for field, items in self.problems.items()}


def normal_username(raw: str) -> str:
    """A name as typed into a sign-up form: without spaces or a leading @, lower case (names are case
    insensitive: the login page lowers them too)."""
    return raw.strip().lstrip("@").lower()


def password_problem(password: str) -> tuple[str, str] | None:
    """What is wrong with a new password (sign-up, password change, reset), or None."""
    if not password:
        return "ERR_BLANK", "can't be blank"
    if len(password) < MIN_PASSWORD:
        return "ERR_TOO_SHORT", f"is too short (minimum is {MIN_PASSWORD} characters)"
    if len(password) > MAX_PASSWORD:
        return "ERR_TOO_LONG", f"is too long (maximum is {MAX_PASSWORD} characters)"
    return None


async def username_problem(name: str) -> tuple[str, str] | None:
    """What keeps a (normalised) name from being signed up with: create_user's rule (USERNAME_RE),
    RESERVED_USERNAMES, or an account that has or had it (the names of deleted accounts stay taken)."""
    if not name:
        return "ERR_BLANK", "can't be blank"
    if len(name) > USERNAME_MAX:
        return "ERR_TOO_LONG", f"is too long (maximum is {USERNAME_MAX} characters)"
    if not USERNAME_RE.match(name):
        return "ERR_INVALID", "must contain only letters, numbers and underscores"
    if name in RESERVED_USERNAMES:
        return "ERR_RESERVED", "is reserved"
    if await Account.filter(username=name, domain=None).exists():
        return "ERR_TAKEN", "has already been taken"
    return None


async def register_user(urls: Urls, username: str, password: str, display_name: str = "",
                        problems: Problems | None = None) -> Account:
    """Sign a person up: the username and password rules, then create_user. `problems` found by the
    caller in its own fields (the API's agreement, locale) are reported together with these."""
    found: Problems = {k: list(v) for k, v in (problems or {}).items()}
    name = normal_username(username)
    for field, problem in (("username", await username_problem(name)), ("password", password_problem(password))):
        if problem is not None:
            found.setdefault(field, []).append(problem)
    if found:
        raise RegistrationError(found)
    try:
        return await create_user(urls, name, display_name.strip()[:30], password)
    except BadRequest as exc:      # signed up a moment ago by someone else
        raise RegistrationError({"username": [("ERR_TAKEN", "has already been taken")]}) from exc


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


def token_digest(secret: str) -> str:
    """How tokens, refresh tokens, codes and client secrets are stored: the sha256 hex digest."""
    return hashlib.sha256(secret.encode()).hexdigest()


_digest = token_digest


def new_secret() -> str:
    """A random credential: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


async def create_token(account: Account | None, scopes: str = DEFAULT_SCOPES, *, app: App | None = None) -> str:
    """A bearer token (stored hashed); account None makes an app-only token."""
    token = new_secret()
    await Token.create(digest=token_digest(token), account=account, app=app, scopes=scopes)
    return token


async def issue_token(account: Account | None, app: App | None, scopes: str,
                      *, refresh: bool = True) -> tuple[str, str | None, Token]:
    """An access token and, when asked, a refresh token (both stored hashed), and their row."""
    token = new_secret()
    refresh_token = new_secret() if refresh else None
    row = await Token.create(digest=token_digest(token), account=account, app=app, scopes=scopes,
                             refresh_digest=token_digest(refresh_token) if refresh_token else None)
    return token, refresh_token, row


async def token_row(token: str) -> Token:
    """A live token: known, not revoked, not expired."""
    row = await Token.get_or_none(digest=token_digest(token)).select_related("account")
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at < datetime.now(UTC)):
        raise Unauthorized("The access token is invalid")
    return row


async def authenticate(username: str, password: str) -> Account | None:
    """The local person with this password, or None; as slow for unknown names as for known ones.
    A password stored with an older scheme is rehashed with argon2 on success."""
    account = (await Account.get_or_none(username=username, domain=None, actor_type="Person")
               if username and len(username) <= 255 else None)
    if account is None or account.suspended or account.gone or not account.password_hash:
        await asyncio.to_thread(burn_password_check, password)
        return None
    if not await asyncio.to_thread(check_password, password, account.password_hash):
        return None
    if password_needs_rehash(account.password_hash):
        account.password_hash = await asyncio.to_thread(hash_password, password)
        await account.save(update_fields=["password_hash"])
    return account
