"""Signing up: the /signup page and Mastodon's POST /api/v1/accounts, open or closed
(FEDI_REGISTRATIONS_OPEN), with the username and password rules, reserved names and the per-address
throttle they share."""

from __future__ import annotations

import dataclasses

from fedi.accounts import RESERVED_USERNAMES, authenticate
from fedi.models import Account, Token
from tests.app.test_openapi import answer
from tests.app.test_pages import CSRF_RE, PASSWORD, page, person

GOOD = {"username": "Dora", "display_name": "Dora the Painter", "password": PASSWORD,
        "password_confirmation": PASSWORD}


def open_registrations(inst, value: bool = True) -> None:
    inst.state.cfg = dataclasses.replace(inst.state.cfg, registrations_open=value)


async def signup_token(inst) -> str:
    match = CSRF_RE.search(await page(inst, "/signup"))
    assert match
    return match.group(1)


async def signup(inst, headers: dict | None = None, **fields):
    return await inst.client.post("/signup", form={"csrf_token": await signup_token(inst), **GOOD, **fields},
                                  headers=headers or {})


async def app_token(inst, scopes: str = "read write") -> str:
    app = await (await inst.client.post("/api/v1/apps", json={
        "client_name": "sign-up client", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes})).get_json()
    token = await (await inst.client.post("/oauth/token", form={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": scopes})).get_json()
    return token["access_token"]


async def test_closed_registrations_have_no_link_and_answer_403(app_ctx):
    inst = app_ctx
    login = await page(inst, "/login")
    assert 'href="/signup"' not in login and "Sign up" not in login
    html = await page(inst, "/signup", 403)
    assert "registrations are closed" in html and 'role="alert"' in html
    token = CSRF_RE.search(login).group(1)
    resp = await inst.client.post("/signup", form={"csrf_token": token, **GOOD})
    assert resp.status_code == 403 and "text/html" in resp.headers["Content-Type"]
    api = await inst.api("POST", "/api/v1/accounts", await app_token(inst),
                         json={"username": "dora", "password": PASSWORD, "agreement": True, "locale": "en"})
    assert api.status_code == 403 and (await api.get_json())["error"] == "This action is not allowed"
    assert not await Account.exists(username="dora")


async def test_sign_up_on_the_web_signs_in(app_ctx):
    inst = app_ctx
    open_registrations(inst)
    login = await page(inst, "/login")
    assert 'No account yet? <a href="/signup">Sign up</a>' in login
    assert '<li><a href="/signup">Sign up</a></li>' in login          # in the header too
    form = await page(inst, "/signup")
    for needle in ('<label for="username">', '<label for="password">', '<label for="password_confirmation">',
                   'autocomplete="new-password"', 'aria-describedby="username-help"', 'name="csrf_token"'):
        assert needle in form, needle
    bare = await inst.client.post("/signup", form=GOOD)          # no CSRF token
    assert bare.status_code == 403 and not await Account.exists(username="dora")
    resp = await signup(inst)
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"
    dora = await Account.get(username="dora", domain=None)      # names are lower case, as the login page makes them
    assert dora.display_name == "Dora the Painter" and dora.private_key_pem and dora.uri.endswith("/users/dora")
    assert (await authenticate("dora", PASSWORD)).id == dora.id
    home = await page(inst, "/home")
    assert "Welcome, Dora the Painter" in home and "Sign out" in home and 'href="/signup"' not in home
    assert (await inst.client.get("/signup")).headers["Location"] == "/home"   # signed in already
    webfinger = await inst.client.get("/.well-known/webfinger?resource=acct:dora@fedi.test")
    assert webfinger.status_code == 200


async def test_sign_up_refuses_taken_reserved_and_invalid_names_and_bad_passwords(app_ctx):
    inst = app_ctx
    open_registrations(inst)
    await person(inst, "alice")
    cases = [({"username": "alice"}, "Username has already been taken."),
             ({"username": "ALICE"}, "Username has already been taken."),
             ({"username": "admin"}, "Username is reserved."),
             ({"username": "bad name!"}, "Username must contain only letters, numbers and underscores."),
             ({"username": "x" * 31}, "Username is too long (maximum is 30 characters)."),
             ({"username": ""}, "Username can&#39;t be blank."),
             ({"password": "short", "password_confirmation": "short"},
              "Password is too short (minimum is 8 characters)."),
             ({"password_confirmation": "something else"}, "The two passwords differ.")]
    for fields, message in cases:
        resp = await signup(inst, **fields)
        html = await resp.get_data(as_text=True)
        assert resp.status_code == 422, fields
        assert message in html, (fields, message)
        assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert await Account.filter(domain=None, actor_type="Person").count() == 1
    assert "instance.actor" in RESERVED_USERNAMES and "admin" in RESERVED_USERNAMES
    # what was typed comes back, the passwords do not
    html = await (await signup(inst, username="admin")).get_data(as_text=True)
    assert 'value="admin"' in html and 'value="Dora the Painter"' in html and PASSWORD not in html


async def test_sign_up_is_throttled_per_address_for_the_web_and_the_api(app_ctx):
    inst = app_ctx
    open_registrations(inst)
    for _ in range(25):        # Mastodon's 25 attempts per 5 minutes and address, refused ones included
        assert (await signup(inst, password_confirmation="differs")).status_code == 422
    blocked = await signup(inst)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many sign-up attempts" in await blocked.get_data(as_text=True)
    assert not await Account.exists(username="dora")
    api = await inst.api("POST", "/api/v1/accounts", await app_token(inst),
                         json={"username": "erin", "password": PASSWORD, "agreement": True})
    assert api.status_code == 429 and int(api.headers["Retry-After"]) > 0
    # another client behind the (trusted, loopback) proxy is not held back
    other = await signup(inst, headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status_code == 302 and await Account.exists(username="dora")


async def test_api_registration_returns_a_token(app_ctx):
    inst = app_ctx
    open_registrations(inst)
    _, user_token = await person(inst, "alice")
    token = await app_token(inst)
    body = {"username": "erin", "email": "erin@example.com", "password": PASSWORD, "agreement": "true",
            "locale": "en"}
    assert (await inst.client.post("/api/v1/accounts", json=body)).status_code == 401
    no_app = await inst.api("POST", "/api/v1/accounts", user_token, json=body)   # `fedi token create`: no app
    assert no_app.status_code == 403
    read_only = await inst.api("POST", "/api/v1/accounts", await app_token(inst, "read"), json=body)
    assert read_only.status_code == 403
    resp = await inst.api("POST", "/api/v1/accounts", token, json=body)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    got = await answer("/api/v1/accounts", "post", resp)
    assert got["token_type"] == "Bearer" and got["scope"] == "read write" and isinstance(got["created_at"], int)
    me = await (await inst.api("GET", "/api/v1/accounts/verify_credentials", got["access_token"])).get_json()
    assert me["username"] == "erin" and me["acct"] == "erin"
    row = await Token.filter(account__username="erin").first()
    assert row is not None and row.app_id is not None
    assert (await authenticate("erin", PASSWORD)) is not None
    # a form body works too
    form = await inst.api("POST", "/api/v1/accounts", token,
                          form={"username": "frank", "password": PASSWORD, "agreement": "1", "locale": "de-AT"})
    assert form.status_code == 200 and await Account.exists(username="frank")


async def test_api_registration_errors_have_mastodons_shape(app_ctx):
    inst = app_ctx
    open_registrations(inst)
    await person(inst, "alice")
    token = await app_token(inst)
    taken = await inst.api("POST", "/api/v1/accounts", token,
                           json={"username": "alice", "password": PASSWORD, "agreement": True, "locale": "en"})
    assert taken.status_code == 422
    assert await answer("/api/v1/accounts", "post", taken) == {
        "error": "Validation failed: Username has already been taken",
        "details": {"username": [{"error": "ERR_TAKEN", "description": "has already been taken"}]}}
    several = await (await inst.api("POST", "/api/v1/accounts", token, json={
        "username": "root", "password": "short", "email": "not an address", "locale": "!!"})).get_json()
    assert {k: [e["error"] for e in v] for k, v in several["details"].items()} == {
        "agreement": ["ERR_ACCEPTED"], "email": ["ERR_INVALID"], "locale": ["ERR_INCLUSION"],
        "username": ["ERR_RESERVED"], "password": ["ERR_TOO_SHORT"]}
    assert several["error"].startswith("Validation failed: ") and "Username is reserved" in several["error"]
    invalid = await (await inst.api("POST", "/api/v1/accounts", token, json={
        "username": "no spaces", "password": PASSWORD, "agreement": True})).get_json()
    assert invalid["details"] == {"username": [{"error": "ERR_INVALID",
                                                "description": "must contain only letters, numbers and underscores"}]}
    assert await Account.filter(domain=None, actor_type="Person").count() == 1
