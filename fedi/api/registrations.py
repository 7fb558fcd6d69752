"""POST /api/v1/accounts: signing up through the API, as Mastodon does it. The client authenticates with
an app token that has write:accounts (the client_credentials grant); the answer is a Token entity for
the new account, with the app's scopes. 403 when registrations are closed; 422 with Mastodon's
`{"error", "details"}` for a taken, reserved or invalid name, a short password or a missing agreement.
The same rules (fedi.accounts.register_user) and per-address throttle as the sign-up page."""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, Response, request

from fedi.accounts import Problems, RegistrationError, issue_token, register_user
from fedi.api.auth import current_token
from fedi.api.oauth import token_json
from fedi.errors import Forbidden
from fedi.models import App
from fedi.web.clientip import client_ip
from fedi.web.common import TRUE, json_response, params, st
from fedi.web.session import signup_throttle

bp = Blueprint("api_registrations", __name__)

LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def other_problems(args: dict[str, Any]) -> Problems:
    """The fields Mastodon checks besides the name and password. fedi keeps no e-mail address or locale:
    both are optional, and only checked for their form when given."""
    found: Problems = {}
    if str(args.get("agreement", "")).strip().lower() not in TRUE:
        found["agreement"] = [("ERR_ACCEPTED", "must be accepted")]
    email = str(args.get("email") or "").strip()
    if email and (len(email) > 320 or not EMAIL_RE.match(email)):
        found["email"] = [("ERR_INVALID", "is invalid")]
    locale = str(args.get("locale") or "").strip()
    if locale and not LOCALE_RE.match(locale):
        found["locale"] = [("ERR_INCLUSION", "is not included in the list")]
    return found


@bp.post("/api/v1/accounts")
async def create_account() -> Response:
    row = await current_token("write:accounts")
    if row.app_id is None:
        raise Forbidden("This method requires an app token (client_credentials)")
    if not st().cfg.registrations_open:
        raise Forbidden("This action is not allowed")
    throttle, ip = signup_throttle(), client_ip(request)
    wait = throttle.wait(ip)
    if wait:
        return json_response({"error": "Too many requests"}, 429, headers={"Retry-After": str(wait)})
    throttle.attempt(ip)
    args = await params()
    try:
        account = await register_user(st().urls, str(args.get("username") or "")[:100],
                                      str(args.get("password") or "")[:2000], problems=other_problems(args))
    except RegistrationError as exc:
        return json_response({"error": exc.message, "details": exc.details()}, 422)
    app = await App.get(id=row.app_id)
    access, refresh, token = await issue_token(account, app, app.scopes, refresh=True)
    return json_response(token_json(access, refresh, token), headers={"Cache-Control": "no-store"})
