"""The sign-up page (/signup), open when FEDI_REGISTRATIONS_OPEN is on: the same username and password
rules as `fedi user create` plus the reserved names (fedi.accounts.register_user), throttled per client
address together with POST /api/v1/accounts, and signed in afterwards."""

from __future__ import annotations

from quart import Blueprint, Response, flash, redirect, request

from fedi.accounts import MIN_PASSWORD, RegistrationError, register_user
from fedi.errors import Forbidden
from fedi.web.clientip import client_ip
from fedi.web.common import st
from fedi.web.session import current_user, protect, render, sign_in, signup_throttle

bp = Blueprint("signup", __name__)
protect(bp)

CLOSED = "This server is not accepting new accounts: registrations are closed."


def check_open() -> None:
    if not st().cfg.registrations_open:
        raise Forbidden(CLOSED)


async def form_page(values: dict[str, str], status: int = 200, *, errors: dict[str, list[str]] | None = None,
                    message: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return await render("signup.html", status, headers, values=values, errors=errors or {}, message=message,
                        min_password=MIN_PASSWORD)


@bp.get("/signup")
async def signup_form() -> Response:
    check_open()
    if await current_user() is not None:
        return redirect("/home")  # type: ignore[return-value]
    return await form_page({"username": "", "display_name": ""})


@bp.post("/signup")
async def signup_submit() -> Response:
    check_open()
    if await current_user() is not None:
        return redirect("/home")  # type: ignore[return-value]
    form = await request.form
    values = {"username": str(form.get("username", "")).strip()[:100],
              "display_name": str(form.get("display_name", "")).strip()[:30]}
    throttle, ip = signup_throttle(), client_ip(request)
    wait = throttle.wait(ip)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many sign-up attempts from your address. Try again in {minutes} minute(s)."
        return await form_page(values, 429, headers={"Retry-After": str(wait)}, message=message)
    throttle.attempt(ip)
    password = str(form.get("password", ""))[:2000]
    problems: dict[str, list[tuple[str, str]]] = {}
    if password != str(form.get("password_confirmation", ""))[:2000]:
        problems["password_confirmation"] = [("ERR_CONFIRMATION", "doesn't match Password")]
    try:
        account = await register_user(st().urls, values["username"], password, values["display_name"], problems)
    except RegistrationError as exc:
        return await form_page(values, 422, errors=field_errors(exc), message="Your account could not be made.")
    sign_in(account)
    await flash(f"Welcome, {account.display_name}! Your account is @{account.username}@{st().cfg.domain}.")
    return redirect("/home")  # type: ignore[return-value]


def field_errors(exc: RegistrationError) -> dict[str, list[str]]:
    """The problems as sentences, by form field."""
    return {field: ["The two passwords differ." if code == "ERR_CONFIRMATION" else f"{field.capitalize()} {text}."
                    for code, text in items] for field, items in exc.problems.items()}
