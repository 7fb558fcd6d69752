"""Browser sessions of the web pages: the signed session cookie and its key, the signed-in account,
CSRF tokens, login and sign-up throttling, and how an HTML page is answered (templates, security headers).

The session cookie (Quart's signed cookie) holds the account id, a per-session CSRF token and a tag of
the password hash: changing the password ends every other session."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from itsdangerous import URLSafeTimedSerializer
from quart import Blueprint, Quart, Response, current_app, g, redirect, render_template, request, session
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket
from werkzeug.exceptions import HTTPException

from fedi.config import Config
from fedi.errors import FediError
from fedi.models import Account
from fedi.web.common import st

SECRET_FILE = "secret_key"     # noqa: S105 - a file name, not a secret
COOKIE = "fedi_session"
LOGIN_WINDOW = 300.0        # seconds
LOGIN_LIMIT = 5             # failed logins per username and IP address in the window
LOGIN_LIMIT_IP = 30         # failed logins per IP address, whatever the usernames, in the window
SIGNUP_WINDOW = 300.0       # seconds
SIGNUP_LIMIT = 25           # sign-up attempts per IP address in the window (Mastodon's throttle_sign_up_attempts)


def load_secret_key(data_dir: Path) -> str:
    """The key that signs session cookies: random, made on first start, kept in DATA_DIR/secret_key (0600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
        path.unlink()       # empty or truncated (a crash while writing): make a new one
        return load_secret_key(data_dir)
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


class CookieSessions(SecureCookieSessionInterface):
    """Quart's signed-cookie sessions, minus their cost on requests that carry no session cookie.

    Quart builds a new signing serializer (key derivation included) on every request, cookie or not,
    which was ~15 % of the CPU of a WebFinger or actor GET; servers and most API clients never send
    our cookie. Here the serializer is built once per key, and a request without the cookie gets an
    empty session without touching it; a response whose session was never used returns at once."""

    _signer: tuple[tuple[Any, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        if self._signer is None or self._signer[0] != keys:
            signer = super().get_signing_serializer(app)
            assert signer is not None
            self._signer = (keys, signer)
        return self._signer[1]

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> SecureCookieSession | None:
        if "cookie" not in request.headers and app.secret_key:
            return self.session_class()
        return await super().open_session(app, request)

    async def save_session(self, app: Quart, session: SessionMixin, response: Any) -> None:
        if not session and not session.modified and not session.accessed:
            return
        await super().save_session(app, session, response)


def configure_sessions(app: Quart, cfg: Config) -> None:
    """Session key and cookie flags: HttpOnly, SameSite=Lax, Secure when the instance is served over https."""
    app.session_interface = CookieSessions()
    app.secret_key = load_secret_key(cfg.data_dir)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=cfg.scheme == "https",
                      PERMANENT_SESSION_LIFETIME=timedelta(days=30))


# -- the signed-in account -------------------------------------------------------------------------------

def password_tag(account: Account) -> str:
    """Ties a session to the password it was opened with (an HMAC of the hash, not the hash)."""
    key = str(current_app.secret_key or "").encode()
    return hmac.new(key, (account.password_hash or "").encode(), hashlib.sha256).hexdigest()[:24]


async def current_user() -> Account | None:
    """The account signed in with this request's session cookie, or None."""
    if "viewer" in g:
        return g.viewer  # type: ignore[no-any-return]
    account = None
    uid = session.get("uid")
    if uid is not None:
        account = await Account.get_or_none(id=uid, domain=None, actor_type="Person")
        if account is None or account.suspended or account.gone or not hmac.compare_digest(
                str(session.get("pv", "")), password_tag(account)):
            session.clear()
            account = None
    g.viewer = account
    return account


def sign_in(account: Account) -> None:
    session.clear()             # nothing from before the login survives it
    session.permanent = True
    session["uid"] = account.id
    session["pv"] = password_tag(account)
    session["csrf"] = secrets.token_urlsafe(32)
    g.viewer = account


def sign_out() -> None:
    session.clear()
    g.viewer = None


# -- CSRF ------------------------------------------------------------------------------------------------

class CsrfError(FediError):
    status = 403


def csrf_token() -> str:
    """This session's CSRF token (made on first use); every form carries it in a hidden field."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf() -> None:
    """Refuse a POST whose form lacks this session's token, or that comes from another site's page."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        host = urlsplit(origin).netloc.lower()
        if host not in (st().cfg.domain, request.host.lower()):
            raise CsrfError("This form was sent from another site.")
    form = await request.form
    sent = str(form.get("csrf_token", ""))
    expected = str(session.get("csrf", ""))
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfError("The form expired or did not come from this site: reload the page and try again.")


# -- login throttling ------------------------------------------------------------------------------------

class LoginThrottle:
    """Failed logins in a sliding window, in memory: per username and IP address, and per IP address."""

    def __init__(self, limit: int = LOGIN_LIMIT, ip_limit: int = LOGIN_LIMIT_IP, window: float = LOGIN_WINDOW):
        self.limit, self.ip_limit, self.window = limit, ip_limit, window
        self.failures: dict[Any, deque[float]] = {}

    def _live(self, key: Any, now: float) -> deque[float]:
        hits = self.failures.setdefault(key, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        return hits

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = time.monotonic()
        wait = 0.0
        for key, limit in (((username.lower(), ip), self.limit), (ip, self.ip_limit)):
            hits = self._live(key, now)
            if len(hits) >= limit:
                wait = max(wait, hits[len(hits) - limit] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, username: str, ip: str) -> None:
        now = time.monotonic()
        if len(self.failures) > 100_000:
            self.failures.clear()
        for key in ((username.lower(), ip), ip):
            self._live(key, now).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        self.failures.pop((username.lower(), ip), None)


def login_throttle() -> LoginThrottle:
    return current_app.extensions.setdefault("fedi_login_throttle", LoginThrottle())  # type: ignore[no-any-return]


class SignupThrottle(LoginThrottle):
    """Every sign-up attempt counts, made or refused, as Mastodon counts them: per IP address only."""

    def wait(self, ip: str) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        return self.retry_after("", ip)

    def attempt(self, ip: str) -> None:
        self.failed("", ip)


def signup_throttle() -> SignupThrottle:
    """Sign-up attempts per client address, shared by /signup and POST /api/v1/accounts."""
    return current_app.extensions.setdefault(  # type: ignore[no-any-return]
        "fedi_signup_throttle", SignupThrottle(SIGNUP_LIMIT, SIGNUP_LIMIT, SIGNUP_WINDOW))


# -- answering with a page -------------------------------------------------------------------------------

def content_security_policy() -> str:
    """No inline script or style anywhere: scripts and styles come from /assets only."""
    images = "'self' https: data:" + (" http:" if st().cfg.scheme == "http" else "")
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src " + images + "; "
            "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; object-src 'none'")


def secure_headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = content_security_policy()
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Vary"] = "Accept, Cookie"
    if session.get("uid") is not None:
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


async def render(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response:
    """A template rendered as an HTML page, with the signed-in account and the security headers."""
    viewer = await current_user()
    cfg = st().cfg
    body = await render_template(template, viewer=viewer, csrf_token=csrf_token, instance_title=cfg.instance_title,
                                 domain=cfg.domain, registrations_open=cfg.registrations_open, **context)
    resp = Response(body, status=status, content_type="text/html; charset=utf-8")
    if headers:
        resp.headers.update(headers)
    return secure_headers(resp)


async def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    titles = {400: "Bad request", 401: "Sign in needed", 403: "Forbidden", 404: "Not found", 410: "Gone",
              413: "Too large", 422: "Not possible", 429: "Too many attempts"}
    return await render("error.html", status, headers, title=titles.get(status, "Something went wrong"),
                        message=message, code=status)


def html_errors(bp: Blueprint) -> None:
    """The blueprint's errors as HTML pages (the app's own handlers answer JSON)."""

    @bp.errorhandler(FediError)
    async def fedi_error(exc: FediError) -> Response:
        return await error_page(exc.status, exc.message)

    @bp.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        allow = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return await error_page(code, exc.description or exc.name, allow or None)


def web_url(value: str | None) -> str | None:
    """A URL from another server, fit for a link: http(s) only (never javascript: or data:)."""
    return value if value and value.startswith(("https://", "http://")) else None


def login_redirect() -> Response:
    """To the sign-in page, coming back here afterwards."""
    return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))  # type: ignore[return-value]


def safe_next(value: str | None, default: str = "/home") -> str:
    """A same-site path to go back to after a form (never another site: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def protect(bp: Blueprint) -> None:
    """HTML error pages for the blueprint, and the CSRF check before every POST it answers."""
    html_errors(bp)

    @bp.before_request
    async def csrf() -> None:
        if request.method == "POST":
            await check_csrf()
