"""Bearer tokens for the client API, and OAuth scopes (Mastodon's: read, write, follow, push, profile
and the granular read:x / write:x forms).

Every route that calls require_account() or optional_account() has its scope checked: the scope a
request needs is derived from its method and path (SCOPE_RULES, as Mastodon's controllers declare
them), or given explicitly as require_account("write:media")."""

from __future__ import annotations

import re

from quart import request

from fedi.accounts import token_row
from fedi.errors import Forbidden, Unauthorized
from fedi.models import Account, Token

READ_SCOPES = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
               "notifications", "search", "statuses")
WRITE_SCOPES = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
                "lists", "media", "mutes", "notifications", "reports", "statuses")
TOP_SCOPES = ("read", "write", "follow", "push", "profile")
ALL_SCOPES = (*TOP_SCOPES, *(f"read:{s}" for s in READ_SCOPES), *(f"write:{s}" for s in WRITE_SCOPES))
VALID_SCOPES = frozenset(ALL_SCOPES)
# the deprecated "follow" scope stands for these
FOLLOW_SCOPES = frozenset({"read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows",
                           "write:mutes"})
FORBIDDEN_MESSAGE = "This action is outside the authorized scopes"

_READ = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ANY = _READ | _WRITE
# (methods, path pattern, needed scope or alternatives); the first match wins
_RULES: list[tuple[frozenset[str], str, str | tuple[str, ...]]] = [
    (_READ, r"/api/v1/accounts/verify_credentials", ("read:accounts", "profile")),
    (_WRITE, r"/api/v1/accounts/update_credentials", "write:accounts"),
    (_READ, r"/api/v1/accounts/relationships", "read:follows"),
    (_READ, r"/api/v1/accounts/[^/]+/statuses", "read:statuses"),
    (_WRITE, r"/api/v1/accounts/[^/]+/(?:follow|unfollow|remove_from_followers)", "write:follows"),
    (_WRITE, r"/api/v1/accounts/[^/]+/(?:block|unblock)", "write:blocks"),
    (_WRITE, r"/api/v1/accounts/[^/]+/(?:mute|unmute)", "write:mutes"),
    (_READ, r"/api/v1/accounts/familiar_followers", "read:follows"),
    (_READ, r"/api/v1/accounts/[^/]+/lists", "read:lists"),
    (_READ, r"/api/v1/accounts(?:/.*)?", "read:accounts"),
    (_WRITE, r"/api/v1/accounts(?:/.*)?", "write:accounts"),
    (_READ, r"/api/v1/blocks(?:/.*)?", "read:blocks"),
    (_READ, r"/api/v1/mutes(?:/.*)?", "read:mutes"),
    (_READ, r"/api/v1/domain_blocks(?:/.*)?", "read:blocks"),
    (_WRITE, r"/api/v1/domain_blocks(?:/.*)?", "write:blocks"),
    (_READ, r"/api/v1/follow_requests(?:/.*)?", "read:follows"),
    (_WRITE, r"/api/v1/follow_requests(?:/.*)?", "write:follows"),
    (_READ, r"/api/v1/bookmarks(?:/.*)?", "read:bookmarks"),
    (_READ, r"/api/v1/favourites(?:/.*)?", "read:favourites"),
    (_WRITE, r"/api/v1/statuses/[^/]+/(?:bookmark|unbookmark)", "write:bookmarks"),
    (_WRITE, r"/api/v1/statuses/[^/]+/(?:favourite|unfavourite)", "write:favourites"),
    (_WRITE, r"/api/v1/statuses/[^/]+/(?:mute|unmute)", "write:mutes"),
    (_WRITE, r"/api/v1/statuses/[^/]+/(?:pin|unpin)", "write:accounts"),
    (_READ, r"/api/v1/statuses/[^/]+/(?:favourited_by|reblogged_by)", "read:accounts"),
    (_READ, r"/api/v1/statuses(?:/.*)?", "read:statuses"),
    (_WRITE, r"/api/v1/statuses(?:/.*)?", "write:statuses"),
    (_ANY, r"/api/v[12]/media(?:/.*)?", "write:media"),
    (_READ, r"/api/v[12]/notifications(?:/.*)?", "read:notifications"),
    (_WRITE, r"/api/v[12]/notifications(?:/.*)?", "write:notifications"),
    (_READ, r"/api/v1/timelines/list/.*", "read:lists"),
    (_READ, r"/api/v1/timelines/.*", "read:statuses"),
    (_READ, r"/api/v[12]/search", "read:search"),
    (_READ, r"/api/v1/markers", "read:statuses"),
    (_WRITE, r"/api/v1/markers", "write:statuses"),
    (_READ, r"/api/v1/preferences", "read:accounts"),
    (_READ, r"/api/v[12]/filters(?:/.*)?", "read:filters"),
    (_WRITE, r"/api/v[12]/filters(?:/.*)?", "write:filters"),
    (_READ, r"/api/v1/lists(?:/.*)?", "read:lists"),
    (_WRITE, r"/api/v1/lists(?:/.*)?", "write:lists"),
    (_READ, r"/api/v1/followed_tags(?:/.*)?", "read:follows"),
    (_READ, r"/api/v1/(?:featured_tags|endorsements)(?:/.*)?", "read:accounts"),
    (_READ, r"/api/v[12]/suggestions(?:/.*)?", "read:accounts"),
    (_READ, r"/api/v1/scheduled_statuses(?:/.*)?", "read:statuses"),
    (_READ, r"/api/v1/conversations(?:/.*)?", "read:statuses"),
    (_WRITE, r"/api/v1/conversations(?:/.*)?", "write:conversations"),
    (_WRITE, r"/api/v1/reports(?:/.*)?", "write:reports"),
    (_ANY, r"/api/v1/push(?:/.*)?", "push"),
    (_WRITE, r"/api/v1/fedi/generate", ("write:statuses", "write:media")),
]
SCOPE_RULES = [(methods, re.compile(pattern), scope) for methods, pattern, scope in _RULES]


def parse_scopes(value: object) -> list[str]:
    """Scopes from a space-separated string (or a list, or +-separated as some clients send), in order,
    without duplicates. Unknown scopes are kept: validate with unknown_scopes()."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        for scope in re.split(r"[\s+,]+", str(item or "")):
            if scope and scope not in out:
                out.append(scope)
    return out


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in VALID_SCOPES]


def scope_covers(granted: set[str] | frozenset[str], needed: str) -> bool:
    """Whether granted scopes allow `needed`: itself, its top-level form ("read" covers every read:x),
    or "follow" for the follow/block/mute scopes."""
    if needed in granted:
        return True
    top, sep, _ = needed.partition(":")
    if sep and top in granted and top in ("read", "write"):
        return True
    return needed in FOLLOW_SCOPES and "follow" in granted


def scopes_within(requested: list[str], allowed: list[str] | str) -> bool:
    """Whether every requested scope is covered by the allowed ones (an app's, or a token's)."""
    pool = set(parse_scopes(allowed))
    return all(scope_covers(pool, s) for s in requested)


def needed_scope(method: str | None = None, path: str | None = None) -> str | tuple[str, ...]:
    """The scope a request needs: by SCOPE_RULES, else read for reads and write for the rest."""
    method = (method or request.method).upper()
    path = (path or request.path).rstrip("/") or "/"
    for methods, pattern, scope in SCOPE_RULES:
        if method in methods and pattern.fullmatch(path):
            return scope
    return "read" if method in _READ else "write"


def require_scope(row: Token, needed: str | tuple[str, ...]) -> None:
    """403 unless the token's scopes cover `needed` (a scope, or alternatives any one of which will do)."""
    granted = set(row.scopes.split())
    options = (needed,) if isinstance(needed, str) else needed
    if not any(scope_covers(granted, s) for s in options):
        raise Forbidden(FORBIDDEN_MESSAGE)


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.args.get("access_token") or None


async def current_token(scope: str | tuple[str, ...] | None = None) -> Token:
    """The request's live token, its scopes checked (against `scope`, or what the request needs)."""
    token = bearer()
    if not token:
        raise Unauthorized("The access token is invalid")
    row = await token_row(token)
    require_scope(row, scope if scope is not None else needed_scope())
    return row


async def require_account(scope: str | tuple[str, ...] | None = None) -> Account:
    """The user behind the bearer token. The scope checked is `scope`, or when None the one the request's
    method and path need (GET /api/v1/timelines/home: read:statuses, POST /api/v1/statuses:
    write:statuses, ...). 401 without a valid user token, 403 when its scopes do not cover the request."""
    row = await current_token(scope)
    if row.account is None or row.account.suspended:
        raise Unauthorized("This method requires an authenticated user")
    return row.account


async def optional_account(scope: str | tuple[str, ...] | None = None) -> Account | None:
    """The user behind the bearer token if there is one (scopes checked as in require_account); None
    without a token, or with an app-only (client_credentials) token."""
    if not bearer():
        return None
    row = await current_token(scope)
    if row.account is None:
        return None
    if row.account.suspended:
        raise Unauthorized("This method requires an authenticated user")
    return row.account

