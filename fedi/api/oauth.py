"""OAuth 2 for Mastodon client apps: app registration, the authorization code flow (with PKCE), client
credentials, refresh-token rotation, revocation and the RFC 8414 metadata document.

- POST /api/v1/apps, GET /api/v1/apps/verify_credentials
- GET/POST /oauth/authorize: a login + consent page (no browser session: the password is asked every
  time); its form carries a CSRF token, an HMAC bound to a cookie nonce and to the request's fields
- POST /oauth/token: authorization_code, client_credentials, refresh_token (no password grant)
- POST /oauth/revoke, GET /.well-known/oauth-authorization-server

Every secret (client secret, code, access and refresh token) is stored as its sha256 digest only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from quart import Blueprint, Response, current_app, request
from quart.blueprints import BlueprintSetupState

from fedi.accounts import (
    authenticate,
    issue_token,
    new_secret,
    token_digest,
    token_row,
)
from fedi.api.auth import ALL_SCOPES, bearer, parse_scopes, scopes_within, unknown_scopes
from fedi.errors import FediError, Unauthorized, Unprocessable
from fedi.models import Account, App, AuthCode, Token
from fedi.web.clientip import client_ip
from fedi.web.common import json_response, params, st

bp = Blueprint("api_oauth", __name__)

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
FORM_LIFETIME = 30 * 60            # seconds a login form stays valid
CSRF_COOKIE = "fedi_oauth_csrf"
LOGIN_WINDOW = 300.0               # seconds
LOGIN_LIMIT_USER = 5               # failed logins per username and IP address in the window
LOGIN_LIMIT_IP = 30                # failed logins per IP address (any usernames) in the window
GRANT_TYPES = ["authorization_code", "client_credentials", "refresh_token"]
MAX_REDIRECT_URIS = 16
MAX_PASSWORD = 1024                # characters; longer ones are refused before hashing
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")           # base64url(sha256(verifier)), unpadded
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")      # RFC 7636 section 4.1
_FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file", "about", "blob"}

SCOPE_TEXT = {
    "read": "read all your account's data",
    "write": "modify all your account's data: post, favourite, boost, follow, upload media",
    "follow": "modify account relationships: follow, block, mute",
    "push": "receive your push notifications",
    "profile": "read only your account's basic profile",
}


# -- per-app state: failed-login counters and the CSRF key ------------------------------------------------

class Throttle:
    """Failed attempts per key in a sliding window, in memory (one `fedi serve` process owns the API)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[Any, deque[float]] = {}

    def _live(self, key: Any, now: float) -> deque[float]:
        hits = self.hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self.hits[key]
        return hits

    def retry_after(self, key: Any) -> int:
        """0 when another attempt is allowed, else the seconds until one is."""
        now = time.monotonic()
        hits = self._live(key, now)
        if len(hits) < self.limit:
            return 0
        return max(1, int(hits[0] + self.window - now) + 1)

    def hit(self, key: Any) -> None:
        now = time.monotonic()
        if len(self.hits) > 50_000:
            for stale in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.window]:
                del self.hits[stale]
        self.hits.setdefault(key, deque()).append(now)

    def forget_one(self, key: Any) -> None:
        hits = self.hits.get(key)
        if hits:
            hits.pop()

    def clear(self, key: Any) -> None:
        self.hits.pop(key, None)


@dataclass
class OAuthState:
    per_user: Throttle = field(default_factory=lambda: Throttle(LOGIN_LIMIT_USER, LOGIN_WINDOW))
    per_ip: Throttle = field(default_factory=lambda: Throttle(LOGIN_LIMIT_IP, LOGIN_WINDOW))
    key: bytes | None = None


def _setup(setup: BlueprintSetupState) -> None:
    setup.app.extensions["fedi.oauth"] = OAuthState()


bp.record_once(_setup)


def oauth_state() -> OAuthState:
    return current_app.extensions["fedi.oauth"]  # type: ignore[no-any-return]


def form_key() -> bytes:
    """The HMAC key of login forms: derived from the instance actor's private key, so it is the same
    for every process on this database and survives restarts, without a secret of its own to keep."""
    state = oauth_state()
    if state.key is None:
        actor = st().instance_actor
        seed = actor.private_key_pem if actor is not None and actor.private_key_pem else None
        state.key = (hmac.new(b"fedi oauth form", seed.encode(), hashlib.sha256).digest() if seed
                     else secrets.token_bytes(32))
    return state.key


# -- errors ---------------------------------------------------------------------------------------------------

class OAuthError(Exception):
    """An RFC 6749 error answer from the token and revocation endpoints."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@bp.errorhandler(OAuthError)
async def oauth_error(exc: OAuthError) -> Response:
    resp = json_response({"error": exc.error, "error_description": exc.description}, exc.status)
    if exc.status == 401:
        resp.headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp


class PageError(Exception):
    """An authorization request we must not redirect back (unknown client, unregistered redirect URI)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class RedirectError(Exception):
    """An authorization request error sent back to the client at its redirect URI (RFC 6749 4.1.2.1)."""

    def __init__(self, req: AuthRequest, error: str, description: str) -> None:
        super().__init__(description)
        self.req, self.error, self.description = req, error, description


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(value: datetime | None) -> int:
    return int((value or _now()).timestamp())


# -- apps -------------------------------------------------------------------------------------------------

def valid_redirect_uri(uri: str) -> bool:
    """An absolute URI without a fragment (https, a loopback http, or an app's own scheme), or OOB."""
    if uri == OOB:
        return True
    if len(uri) > 2000 or any(c.isspace() for c in uri):
        return False
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if not scheme or parts.fragment or "#" in uri or scheme in _FORBIDDEN_SCHEMES:
        return False
    if scheme in ("http", "https"):
        return bool(parts.hostname)
    return True


def _redirect_uris(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        for uri in str(item or "").split():
            if uri not in out:
                out.append(uri)
    return out


def app_json(app: App, *, client_secret: str | None = None) -> dict[str, Any]:
    uris = app.redirect_uris.split()
    doc: dict[str, Any] = {"id": str(app.id), "name": app.name, "website": app.website,
                           "scopes": app.scopes.split(), "redirect_uri": "\n".join(uris), "redirect_uris": uris,
                           "vapid_key": ""}
    if client_secret is not None:
        doc.update(client_id=app.client_id, client_secret=client_secret, client_secret_expires_at=0)
    return doc


@bp.post("/api/v1/apps")
async def create_app() -> Response:
    args = await params()
    name = str(args.get("client_name") or "").strip()
    if not name:
        raise Unprocessable("Validation failed: Application name can't be blank")
    if len(name) > 60:
        raise Unprocessable("Validation failed: Application name is too long (maximum is 60 characters)")
    uris = _redirect_uris(args.get("redirect_uris")) or [OOB]
    if len(uris) > MAX_REDIRECT_URIS:
        raise Unprocessable(f"Validation failed: at most {MAX_REDIRECT_URIS} redirect URIs")
    bad = [u for u in uris if not valid_redirect_uri(u)]
    if bad:
        raise Unprocessable(f"Validation failed: Redirect URI must be an absolute URI without a fragment: {bad[0]}")
    scopes = parse_scopes(args.get("scopes")) or ["read"]
    unknown = unknown_scopes(scopes)
    if unknown:
        raise Unprocessable(f"Validation failed: unknown scope {unknown[0]!r}")
    website = str(args.get("website") or "").strip() or None
    if website is not None and (len(website) > 2000 or urlsplit(website).scheme not in ("http", "https")
                                or not urlsplit(website).hostname):
        raise Unprocessable("Validation failed: Website is not an http(s) URL")
    secret = new_secret()
    app = await App.create(client_id=new_secret(), client_secret_digest=token_digest(secret), name=name,
                           website=website, redirect_uris="\n".join(uris), scopes=" ".join(scopes))
    return json_response(app_json(app, client_secret=secret), headers={"Cache-Control": "no-store"})


@bp.get("/api/v1/apps/verify_credentials")
async def verify_app() -> Response:
    token = bearer()
    if not token:
        raise Unauthorized("The access token is invalid")
    row = await token_row(token)
    if row.account is not None and row.account.suspended:
        raise Unauthorized("The access token is invalid")
    app = await App.get_or_none(id=row.app_id) if row.app_id is not None else None
    if app is None:        # a token from `fedi token create`: no registered app behind it
        return json_response({"name": "fedi command line", "website": None, "scopes": row.scopes.split(),
                              "redirect_uri": OOB, "redirect_uris": [OOB], "vapid_key": ""})
    return json_response(app_json(app))


# -- the authorization request ----------------------------------------------------------------------------

@dataclass
class AuthRequest:
    app: App
    redirect_uri: str
    scopes: str
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None


async def auth_request(args: dict[str, Any]) -> AuthRequest:
    """Check an authorization request: PageError before the redirect URI is known good, RedirectError after."""
    client_id = str(args.get("client_id") or "")
    app = await App.get_or_none(client_id=client_id) if client_id and len(client_id) <= 64 else None
    if app is None:
        raise PageError(400, "Unknown application: the client_id is missing or not registered here.")
    registered = app.redirect_uris.split()
    redirect_uri = str(args.get("redirect_uri") or "")
    if not redirect_uri:
        if len(registered) != 1:
            raise PageError(400, "The redirect_uri parameter is required for this application.")
        redirect_uri = registered[0]
    elif redirect_uri not in registered:
        raise PageError(400, "The redirect URI is not one this application registered.")
    state = args.get("state")
    state = str(state) if state not in (None, "") else None
    partial = AuthRequest(app, redirect_uri, "", state, None, None)
    if str(args.get("response_type") or "") != "code":
        raise RedirectError(partial, "unsupported_response_type", "Only response_type=code is supported.")
    requested = parse_scopes(args.get("scope") or args.get("scopes"))
    if not requested:
        requested = ["read"] if scopes_within(["read"], app.scopes) else app.scopes.split()
    if unknown_scopes(requested) or not scopes_within(requested, app.scopes):
        raise RedirectError(partial, "invalid_scope",
                            "The requested scope is invalid, unknown, or beyond the app's scopes.")
    partial.scopes = " ".join(requested)
    challenge = str(args.get("code_challenge") or "") or None
    method = str(args.get("code_challenge_method") or "") or None
    if challenge is None and method is not None:
        raise RedirectError(partial, "invalid_request", "code_challenge_method without code_challenge.")
    if challenge is not None:
        if method != "S256":
            raise RedirectError(partial, "invalid_request", "code_challenge_method must be S256.")
        if not _CHALLENGE_RE.match(challenge):
            raise RedirectError(partial, "invalid_request",
                                "code_challenge must be an unpadded base64url SHA-256 digest.")
    partial.code_challenge, partial.code_challenge_method = challenge, method
    return partial


def with_query(uri: str, values: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in values.items() if v is not None})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def back_to_client(req: AuthRequest, values: dict[str, str | None]) -> Response:
    resp = Response("", status=302)
    resp.headers["Location"] = with_query(req.redirect_uri, {**values, "state": req.state})
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def csrf_token(nonce: str, req: AuthRequest, issued: int | None = None) -> str:
    issued = int(time.time()) if issued is None else issued
    message = "\n".join([str(issued), nonce, req.app.client_id, req.redirect_uri, req.scopes, req.state or "",
                         req.code_challenge or ""])
    mac = hmac.new(form_key(), message.encode(), hashlib.sha256).digest()
    return f"{issued}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def csrf_ok(token: str, nonce: str | None, req: AuthRequest) -> bool:
    if not token or not nonce or not _NONCE_RE.match(nonce):
        return False
    issued, _, _ = token.partition(".")
    try:
        when = int(issued)
    except ValueError:
        return False
    age = time.time() - when
    if age > FORM_LIFETIME or age < -60:
        return False
    return hmac.compare_digest(csrf_token(nonce, req, when), token)


# -- pages ------------------------------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}
label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;box-sizing:border-box;padding:.4rem}}
button{{padding:.5rem 1rem;margin:.8rem .5rem 0 0}}.error{{color:#a00;font-weight:bold}}
code{{word-break:break-all}}</style></head><body><main>{body}</main></body></html>"""
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
       "frame-ancestors 'none'")


def page(title: str, body: str, status: int = 200) -> Response:
    resp = Response(PAGE.format(title=html.escape(title), body=body), status=status,
                    content_type="text/html; charset=utf-8")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def message_page(title: str, message: str, status: int) -> Response:
    return page(title, f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>", status)


def _scope_text(scope: str) -> str:
    if scope in SCOPE_TEXT:
        return SCOPE_TEXT[scope]
    kind, _, what = scope.partition(":")
    return f"{'read' if kind == 'read' else 'change'} your {what.replace('_', ' ')}"


def login_page(req: AuthRequest, nonce: str, *, username: str = "", error: str | None = None,
               status: int = 200) -> Response:
    app, domain = req.app, st().cfg.domain
    name = html.escape(app.name)
    website = ""
    if app.website and urlsplit(app.website).scheme in ("http", "https"):
        website = (f' (<a href="{html.escape(app.website)}" rel="noopener noreferrer nofollow">'
                   f"{html.escape(urlsplit(app.website).hostname or app.website)}</a>)")
    scopes = "".join(f"<li><code>{html.escape(s)}</code>: {html.escape(_scope_text(s))}</li>"
                     for s in req.scopes.split())
    hidden = {"response_type": "code", "client_id": app.client_id, "redirect_uri": req.redirect_uri,
              "scope": req.scopes, "state": req.state, "code_challenge": req.code_challenge,
              "code_challenge_method": req.code_challenge_method, "csrf_token": csrf_token(nonce, req)}
    inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                     for k, v in hidden.items() if v is not None)
    where = ("the authorization code will be shown on this page for you to copy into the app"
             if req.redirect_uri == OOB else
             f"you will be sent back to <code>{html.escape(_uri_origin(req.redirect_uri))}</code>")
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (f"<h1>Authorize {name}</h1>"
            f"<p><strong>{name}</strong>{website} asks for access to your account on "
            f"<strong>{html.escape(domain)}</strong>. It will be able to:</p><ul>{scopes}</ul>{problem}"
            f'<form method="post" action="/oauth/authorize">{inputs}'
            f'<label>Username <input name="username" value="{html.escape(username)}" autocomplete="username" '
            f'autocapitalize="none" spellcheck="false" required autofocus></label>'
            f'<label>Password <input type="password" name="password" autocomplete="current-password" required>'
            f"</label>"
            f'<button type="submit" name="decision" value="authorize">Authorize</button>'
            f'<button type="submit" name="decision" value="deny" formnovalidate>Deny</button></form>'
            f"<p>After you decide, {where}.</p>")
    resp = page(f"Authorize {app.name}", body, status)
    cfg = st().cfg
    resp.set_cookie(CSRF_COOKIE, nonce, max_age=FORM_LIFETIME, path="/oauth", httponly=True, samesite="Lax",
                    secure=cfg.scheme == "https")
    return resp


def _uri_origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def code_page(app: App, code: str) -> Response:
    body = (f"<h1>Authorization code</h1><p>Copy this code into {html.escape(app.name)}. It works once, "
            f"for the next {int(CODE_LIFETIME.total_seconds() // 60)} minutes.</p>"
            f'<p><input id="code" class="oauth-code" readonly value="{html.escape(code)}" '
            f'aria-label="authorization code"></p><p><code id="authorization-code">{html.escape(code)}</code></p>')
    return page("Authorization code", body)


def _nonce() -> str:
    cookie = request.cookies.get(CSRF_COOKIE)
    return cookie if cookie and _NONCE_RE.match(cookie) else secrets.token_urlsafe(24)


async def _checked_request(args: dict[str, Any]) -> AuthRequest | Response:
    """The authorization request both forms are about, or the page (or redirect) that refuses it."""
    try:
        return await auth_request(args)
    except PageError as exc:
        return message_page("Authorization failed", exc.message, exc.status)
    except RedirectError as exc:
        return _redirect_error(exc)


@bp.get("/oauth/authorize")
async def authorize_form() -> Response:
    req = await _checked_request(await params())
    if isinstance(req, Response):
        return req
    return login_page(req, _nonce())


def _redirect_error(exc: RedirectError) -> Response:
    if exc.req.redirect_uri == OOB:
        return message_page("Authorization failed", f"{exc.error}: {exc.description}", 400)
    return back_to_client(exc.req, {"error": exc.error, "error_description": exc.description})


def _login_name(raw: str) -> str:
    name = raw.strip().lstrip("@").lower()
    user, sep, host = name.partition("@")
    return user if sep and host == st().cfg.domain.lower() else name


async def _login(username: str, password: str) -> Account | None:
    return await authenticate(username, password)


@bp.post("/oauth/authorize")
async def authorize_submit() -> Response:
    args = await params()
    req = await _checked_request(args)
    if isinstance(req, Response):
        return req
    cookie = request.cookies.get(CSRF_COOKIE)
    if not csrf_ok(str(args.get("csrf_token") or ""), cookie, req):
        return message_page("Authorization failed", "This form has expired or did not come from this server. "
                            "Go back, reload the page and try again.", 403)
    if str(args.get("decision") or "authorize") == "deny":
        if req.redirect_uri == OOB:
            return message_page("Authorization denied", "You denied the request.", 200)
        return back_to_client(req, {"error": "access_denied",
                                    "error_description": "The resource owner denied the request."})
    username = _login_name(str(args.get("username") or ""))
    password = str(args.get("password") or "")
    ip = client_ip(request)
    throttle = oauth_state()
    user_key, ip_key = (username, ip), ip
    wait = max(throttle.per_user.retry_after(user_key), throttle.per_ip.retry_after(ip_key))
    if wait:
        resp = login_page(req, cookie or _nonce(), username=username, status=429,
                          error=f"Too many failed attempts. Try again in {wait} seconds.")
        resp.headers["Retry-After"] = str(wait)
        return resp
    # count the attempt before checking, so that concurrent guesses cannot overrun the limit
    throttle.per_user.hit(user_key)
    throttle.per_ip.hit(ip_key)
    account = await _login(username, password) if 0 < len(password) <= MAX_PASSWORD else None
    if account is None:
        return login_page(req, cookie or _nonce(), username=username, status=401,
                          error="Wrong username or password.")
    throttle.per_user.clear(user_key)
    throttle.per_ip.forget_one(ip_key)
    now = _now()
    await AuthCode.filter(expires_at__lt=now).delete()
    code = new_secret()
    await AuthCode.create(digest=token_digest(code), app=req.app, account=account, redirect_uri=req.redirect_uri,
                          scopes=req.scopes, code_challenge=req.code_challenge,
                          code_challenge_method=req.code_challenge_method, expires_at=now + CODE_LIFETIME)
    if req.redirect_uri == OOB:
        return code_page(req.app, code)
    return back_to_client(req, {"code": code})


# -- the token endpoint -----------------------------------------------------------------------------------

async def _token_params() -> dict[str, Any]:
    try:
        return await params()
    except FediError as exc:
        raise OAuthError("invalid_request", exc.message) from exc


async def client_from(args: dict[str, Any]) -> tuple[App, bool]:
    """The client (by HTTP Basic or client_id/client_secret in the body) and whether it proved its secret.
    A wrong secret is invalid_client; no secret at all is left to the grant to judge (public clients)."""
    client_id = str(args.get("client_id") or "")
    secret = str(args.get("client_secret") or "")
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", 401) from exc
        basic_id, sep, basic_secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", 401)
        basic_id, basic_secret = unquote(basic_id), unquote(basic_secret)
        if (client_id and client_id != basic_id) or (secret and secret != basic_secret):
            raise OAuthError("invalid_request", "Client credentials given twice, and different.")
        client_id, secret = basic_id, basic_secret
    app = await App.get_or_none(client_id=client_id) if client_id and len(client_id) <= 64 else None
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed: unknown client.", 401)
    if secret:
        if not hmac.compare_digest(token_digest(secret), app.client_secret_digest):
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        return app, True
    return app, False


def token_json(access: str, refresh: str | None, row: Token) -> dict[str, Any]:
    doc: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "scope": row.scopes,
                           "created_at": _timestamp(row.created_at)}
    if refresh:
        doc["refresh_token"] = refresh
    if row.expires_at is not None:
        doc["expires_in"] = max(0, int((row.expires_at - _now()).total_seconds()))
    return doc


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _authorization_code(args: dict[str, Any], app: App, authenticated: bool) -> dict[str, Any]:
    code = str(args.get("code") or "")
    if not code:
        raise OAuthError("invalid_request", "The code parameter is required.")
    row = await AuthCode.get_or_none(digest=token_digest(code)).select_related("account")
    # single use: whoever deletes the row owns the code, whatever comes next
    if row is None or not await AuthCode.filter(id=row.id).delete():
        raise OAuthError("invalid_grant", "The authorization code is invalid, expired, or already used.")
    if row.app_id != app.id or row.expires_at < _now():
        raise OAuthError("invalid_grant", "The authorization code is invalid, expired, or already used.")
    redirect_uri = str(args.get("redirect_uri") or "")
    if redirect_uri != row.redirect_uri and (redirect_uri or len(app.redirect_uris.split()) > 1):
        raise OAuthError("invalid_grant", "The redirect_uri does not match the one the code was issued for.")
    verifier = str(args.get("code_verifier") or "")
    if row.code_challenge:
        if not _VERIFIER_RE.match(verifier) or not hmac.compare_digest(s256(verifier), row.code_challenge):
            raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
    elif verifier:
        raise OAuthError("invalid_grant", "A code_verifier was given but the authorization used no code_challenge.")
    if not authenticated and not row.code_challenge:
        raise OAuthError("invalid_client", "Client authentication failed: client_secret (or PKCE) required.", 401)
    if row.account.suspended:
        raise OAuthError("invalid_grant", "The account is not available.")
    access, refresh, token = await issue_token(row.account, app, row.scopes, refresh=True)
    return token_json(access, refresh, token)


async def _client_credentials(args: dict[str, Any], app: App, authenticated: bool) -> dict[str, Any]:
    if not authenticated:
        raise OAuthError("invalid_client", "Client authentication failed: client_secret required.", 401)
    requested = parse_scopes(args.get("scope"))
    if not requested:
        requested = ["read"] if scopes_within(["read"], app.scopes) else app.scopes.split()
    if unknown_scopes(requested) or not scopes_within(requested, app.scopes):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or beyond the app's scopes.")
    access, _, token = await issue_token(None, app, " ".join(requested), refresh=False)
    return token_json(access, None, token)


async def _refresh_token(args: dict[str, Any], app: App, authenticated: bool) -> dict[str, Any]:
    refresh = str(args.get("refresh_token") or "")
    if not refresh:
        raise OAuthError("invalid_request", "The refresh_token parameter is required.")
    row = await Token.get_or_none(refresh_digest=token_digest(refresh)).select_related("account")
    if row is None or row.app_id != app.id:
        raise OAuthError("invalid_grant", "The refresh token is invalid.")
    if row.revoked:
        # a rotated refresh token came back: someone holds a copy, so end what this grant led to
        await Token.filter(app_id=app.id, account_id=row.account_id, revoked=False).update(revoked=True)
        raise OAuthError("invalid_grant", "The refresh token is invalid.")
    requested = parse_scopes(args.get("scope")) or row.scopes.split()
    if unknown_scopes(requested) or not scopes_within(requested, row.scopes):
        raise OAuthError("invalid_scope", "The requested scope is beyond the scope originally granted.")
    if row.account is not None and row.account.suspended:
        raise OAuthError("invalid_grant", "The account is not available.")
    if not await Token.filter(id=row.id, revoked=False).update(revoked=True):
        raise OAuthError("invalid_grant", "The refresh token is invalid.")
    access, new_refresh, token = await issue_token(row.account, app, " ".join(requested), refresh=True)
    return token_json(access, new_refresh, token)


GRANTS = {"authorization_code": _authorization_code, "client_credentials": _client_credentials,
          "refresh_token": _refresh_token}


@bp.post("/oauth/token")
async def token() -> Response:
    args = await _token_params()
    grant_type = str(args.get("grant_type") or "")
    if not grant_type:
        raise OAuthError("invalid_request", "The grant_type parameter is required.")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type",
                         "The authorization grant type is not supported by the authorization server.")
    app, authenticated = await client_from(args)
    doc = await grant(args, app, authenticated)
    return json_response(doc, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@bp.post("/oauth/revoke")
async def revoke() -> Response:
    """RFC 7009: revokes an access or refresh token of this client (the pair goes together); {} also for
    a token that is unknown or already revoked."""
    args = await _token_params()
    app, _ = await client_from(args)
    value = str(args.get("token") or "")
    if not value:
        raise OAuthError("invalid_request", "The token parameter is required.")
    digest = token_digest(value)
    row = await Token.get_or_none(digest=digest) or await Token.get_or_none(refresh_digest=digest)
    if row is not None and row.app_id == app.id and not row.revoked:
        await Token.filter(id=row.id).update(revoked=True)
    return json_response({}, headers={"Cache-Control": "no-store"})


# -- discovery --------------------------------------------------------------------------------------------

@bp.get("/.well-known/oauth-authorization-server")
async def metadata() -> Response:
    base = st().urls.base
    return json_response({
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": list(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    })


_CORS_PATHS = ("/oauth/token", "/oauth/revoke", "/api/v1/apps", "/.well-known/oauth-authorization-server")


@bp.after_request
async def cors(resp: Response) -> Response:
    """Browser-based clients call these from other origins (no cookies involved)."""
    if request.path.rstrip("/").startswith(_CORS_PATHS):
        resp.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            resp.headers["Access-Control-Max-Age"] = "86400"
    return resp

