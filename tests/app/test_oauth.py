"""OAuth 2 for client apps: registration, the authorization code flow with PKCE, client credentials,
refresh rotation, revocation, scopes, login throttling, the CSRF token of the login form, metadata."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fedi.accounts import check_password, create_user, hash_password, password_needs_rehash
from fedi.api.auth import needed_scope, scope_covers
from fedi.models import Account, App, AuthCode, Token

REDIRECT = "https://client.example/callback"
PASSWORD = "correct horse battery staple"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


async def register(inst: Any, scopes: str = "read write follow push", redirect: str = REDIRECT,
                   name: str = "Pixel Viewer") -> dict[str, Any]:
    resp = await inst.client.post("/api/v1/apps", form={"client_name": name, "redirect_uris": redirect,
                                                        "scopes": scopes, "website": "https://client.example"})
    assert resp.status_code == 200, await resp.get_data()
    return await resp.get_json()


async def person_with_password(inst: Any, name: str = "alice") -> Account:
    return await create_user(inst.state.urls, name, name.title(), PASSWORD)


async def login_form(inst: Any, app: dict[str, Any], **query: str) -> tuple[Any, dict[str, str]]:
    args = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT,
            "scope": "read write", **query}
    resp = await inst.client.get("/oauth/authorize", query_string=args)
    page = await resp.get_data(as_text=True)
    return resp, hidden_fields(page)


async def submit(inst: Any, fields: dict[str, str], username: str = "alice", password: str = PASSWORD,
                 decision: str = "authorize") -> Any:
    return await inst.client.post("/oauth/authorize", form={**fields, "username": username, "password": password,
                                                            "decision": decision})


async def code_for(inst: Any, app: dict[str, Any], **query: str) -> str:
    resp, fields = await login_form(inst, app, **query)
    assert resp.status_code == 200
    resp = await submit(inst, fields)
    assert resp.status_code == 302, await resp.get_data()
    return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


async def exchange(inst: Any, app: dict[str, Any], code: str, **extra: str) -> Any:
    form = {"grant_type": "authorization_code", "client_id": app["client_id"], "client_secret": app["client_secret"],
            "code": code, "redirect_uri": REDIRECT, **extra}
    return await inst.client.post("/oauth/token", form={k: v for k, v in form.items() if v is not None})


async def user_token(inst: Any, app: dict[str, Any], scope: str = "read write") -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await code_for(inst, app, scope=scope, code_challenge=challenge, code_challenge_method="S256")
    resp = await exchange(inst, app, code, code_verifier=verifier)
    assert resp.status_code == 200, await resp.get_data()
    return await resp.get_json()


async def test_authorization_code_flow_with_pkce(app_ctx):
    inst = app_ctx
    alice = await person_with_password(inst)
    assert alice.password_hash.startswith("$argon2id$")
    app = await register(inst)
    assert app["name"] == "Pixel Viewer" and app["redirect_uris"] == [REDIRECT] and app["vapid_key"] == ""
    stored = await App.get(client_id=app["client_id"])
    assert stored.client_secret_digest == hashlib.sha256(app["client_secret"].encode()).hexdigest()

    verifier, challenge = pkce()
    resp, fields = await login_form(inst, app, state="xyz", code_challenge=challenge, code_challenge_method="S256")
    page = await resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.content_type.startswith("text/html")
    assert "Pixel Viewer" in page and "<code>read</code>" in page and "<code>write</code>" in page
    assert 'name="password"' in page and "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert fields["client_id"] == app["client_id"] and fields["code_challenge"] == challenge and fields["csrf_token"]

    resp = await submit(inst, fields)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    assert await AuthCode.filter(digest=hashlib.sha256(code.encode()).hexdigest()).exists()

    resp = await exchange(inst, app, code, code_verifier=verifier)
    assert resp.status_code == 200, await resp.get_data()
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.get_json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read write"
    assert body["refresh_token"] and isinstance(body["created_at"], int)
    row = await Token.get(digest=hashlib.sha256(body["access_token"].encode()).hexdigest())
    assert row.account_id == alice.id and row.app_id == stored.id and not await Token.filter(
        digest=body["access_token"]).exists()

    me = await inst.api("GET", "/api/v1/accounts/verify_credentials", body["access_token"])
    assert me.status_code == 200 and (await me.get_json())["username"] == "alice"
    who = await inst.api("GET", "/api/v1/apps/verify_credentials", body["access_token"])
    assert who.status_code == 200 and (await who.get_json())["name"] == "Pixel Viewer"
    assert "client_secret" not in await who.get_json()

    again = await exchange(inst, app, code, code_verifier=verifier)
    assert again.status_code == 400 and (await again.get_json())["error"] == "invalid_grant"


async def test_public_client_uses_pkce_instead_of_the_secret(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    verifier, challenge = pkce()
    code = await code_for(inst, app, code_challenge=challenge, code_challenge_method="S256")
    resp = await exchange(inst, app, code, client_secret=None, code_verifier=verifier)
    assert resp.status_code == 200, await resp.get_data()
    # without PKCE the secret is required
    code = await code_for(inst, app)
    resp = await exchange(inst, app, code, client_secret=None)
    assert resp.status_code == 401 and (await resp.get_json())["error"] == "invalid_client"
    # a wrong secret is never accepted
    code = await code_for(inst, app)
    resp = await exchange(inst, app, code, client_secret="wrong")
    assert resp.status_code == 401 and (await resp.get_json())["error"] == "invalid_client"
    # HTTP Basic client authentication works too
    code = await code_for(inst, app)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    resp = await inst.client.post("/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                  form={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert resp.status_code == 200, await resp.get_data()


async def test_wrong_redirect_uri_bad_verifier_and_expired_codes_are_refused(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst, redirect=f"{REDIRECT} https://client.example/other")
    code = await code_for(inst, app)
    resp = await exchange(inst, app, code, redirect_uri="https://client.example/other")
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_grant"

    verifier, challenge = pkce()
    code = await code_for(inst, app, code_challenge=challenge, code_challenge_method="S256")
    resp = await exchange(inst, app, code, code_verifier=pkce()[0])
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_grant"
    # a failed exchange used the code up
    assert (await exchange(inst, app, code, code_verifier=verifier)).status_code == 400

    code = await code_for(inst, app, code_challenge=challenge, code_challenge_method="S256")
    resp = await exchange(inst, app, code)            # verifier missing
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_grant"

    code = await code_for(inst, app)
    await AuthCode.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    resp = await exchange(inst, app, code)
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_grant"

    # an unregistered redirect URI is never redirected to
    resp, fields = await login_form(inst, app, redirect_uri="https://evil.example/steal")
    assert resp.status_code == 400 and "Location" not in resp.headers and not fields
    # plain PKCE is not offered
    resp, _ = await login_form(inst, app, code_challenge=challenge, code_challenge_method="plain")
    assert resp.status_code == 302 and parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == [
        "invalid_request"]
    # scopes beyond the app's are refused
    narrow = await register(inst, scopes="read")
    resp, _ = await login_form(inst, narrow, scope="read write")
    assert resp.status_code == 302 and "error=invalid_scope" in resp.headers["Location"]


async def test_client_credentials_token_is_for_the_app_only(app_ctx):
    inst = app_ctx
    app = await register(inst, scopes="read write")
    resp = await inst.client.post("/oauth/token", form={"grant_type": "client_credentials",
                                                        "client_id": app["client_id"],
                                                        "client_secret": app["client_secret"]})
    assert resp.status_code == 200, await resp.get_data()
    body = await resp.get_json()
    assert body["scope"] == "read" and "refresh_token" not in body
    token = body["access_token"]
    assert (await Token.get(digest=hashlib.sha256(token.encode()).hexdigest())).account_id is None
    me = await inst.api("GET", "/api/v1/accounts/verify_credentials", token)
    assert me.status_code in (401, 403)
    who = await inst.api("GET", "/api/v1/apps/verify_credentials", token)
    assert who.status_code == 200 and (await who.get_json())["name"] == "Pixel Viewer"
    public = await inst.api("GET", "/api/v1/timelines/public", token)
    assert public.status_code == 200
    # no secret, no token
    resp = await inst.client.post("/oauth/token", form={"grant_type": "client_credentials",
                                                        "client_id": app["client_id"]})
    assert resp.status_code == 401 and (await resp.get_json())["error"] == "invalid_client"
    resp = await inst.client.post("/oauth/token", form={"grant_type": "client_credentials", "scope": "follow",
                                                        "client_id": app["client_id"],
                                                        "client_secret": app["client_secret"]})
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_scope"


async def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_grant(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    first = await user_token(inst, app)

    def refresh(token: str, **extra: str) -> Any:
        return inst.client.post("/oauth/token", form={"grant_type": "refresh_token", "refresh_token": token,
                                                      "client_id": app["client_id"],
                                                      "client_secret": app["client_secret"], **extra})

    resp = await refresh(first["refresh_token"])
    assert resp.status_code == 200, await resp.get_data()
    second = await resp.get_json()
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read write"
    assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", first["access_token"])).status_code == 401
    assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", second["access_token"])).status_code == 200
    # wider scopes cannot be had by refreshing
    wider = await refresh(second["refresh_token"], scope="read write push")
    assert wider.status_code == 400 and (await wider.get_json())["error"] == "invalid_scope"
    # the old refresh token is dead, and using it again ends what the grant led to
    replay = await refresh(first["refresh_token"])
    assert replay.status_code == 400 and (await replay.get_json())["error"] == "invalid_grant"
    assert (await inst.api("GET", "/api/v1/accounts/verify_credentials", second["access_token"])).status_code == 401
    # another app cannot use this app's refresh token
    other = await register(inst, name="Other")
    third = await user_token(inst, app)
    resp = await inst.client.post("/oauth/token", form={"grant_type": "refresh_token",
                                                        "refresh_token": third["refresh_token"],
                                                        "client_id": other["client_id"],
                                                        "client_secret": other["client_secret"]})
    assert resp.status_code == 400 and (await resp.get_json())["error"] == "invalid_grant"


async def test_revoked_tokens_stop_working(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    body = await user_token(inst, app)
    token = body["access_token"]
    assert (await inst.api("GET", "/api/v1/timelines/home", token)).status_code == 200
    wrong = await inst.client.post("/oauth/revoke", form={"token": token, "client_id": app["client_id"],
                                                          "client_secret": "nope"})
    assert wrong.status_code == 401
    resp = await inst.client.post("/oauth/revoke", form={"token": token, "client_id": app["client_id"],
                                                         "client_secret": app["client_secret"]})
    assert resp.status_code == 200 and await resp.get_json() == {}
    assert (await inst.api("GET", "/api/v1/timelines/home", token)).status_code == 401
    refreshed = await inst.client.post("/oauth/token", form={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app["client_id"],
        "client_secret": app["client_secret"]})
    assert refreshed.status_code == 400
    # unknown tokens are answered the same way (RFC 7009)
    resp = await inst.client.post("/oauth/revoke", form={"token": "unknown", "client_id": app["client_id"],
                                                         "client_secret": app["client_secret"]})
    assert resp.status_code == 200 and await resp.get_json() == {}


async def test_scopes_are_enforced_on_the_api(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    read_only = (await user_token(inst, app, scope="read"))["access_token"]
    resp = await inst.api("POST", "/api/v1/statuses", read_only, json={"status": "hello"})
    assert resp.status_code == 403
    assert await resp.get_json() == {"error": "This action is outside the authorized scopes"}
    assert (await inst.api("GET", "/api/v1/timelines/home", read_only)).status_code == 200
    assert (await inst.api("GET", "/api/v1/notifications", read_only)).status_code == 200

    writer = (await user_token(inst, app, scope="write:statuses"))["access_token"]
    posted = await inst.api("POST", "/api/v1/statuses", writer, json={"status": "hello"})
    assert posted.status_code == 200, await posted.get_data()
    assert (await inst.api("GET", "/api/v1/timelines/home", writer)).status_code == 403
    status_id = (await posted.get_json())["id"]
    assert (await inst.api("POST", f"/api/v1/statuses/{status_id}/favourite", writer)).status_code == 403
    assert (await inst.api("POST", f"/api/v1/statuses/{status_id}/favourite", read_only)).status_code == 403
    # tokens from `fedi token create` have every scope
    _, cli_token = await inst.user("bob")
    fav = await inst.api("POST", f"/api/v1/statuses/{status_id}/favourite", cli_token)
    assert fav.status_code == 200


def test_scope_rules():
    assert needed_scope("GET", "/api/v1/timelines/home") == "read:statuses"
    assert needed_scope("POST", "/api/v1/statuses") == "write:statuses"
    assert needed_scope("POST", "/api/v2/media") == "write:media"
    assert needed_scope("POST", "/api/v1/accounts/123/follow") == "write:follows"
    assert needed_scope("GET", "/api/v1/follow_requests") == "read:follows"
    assert needed_scope("POST", "/api/v1/statuses/1/favourite") == "write:favourites"
    assert needed_scope("GET", "/api/v1/something_new") == "read"
    assert needed_scope("DELETE", "/api/v1/something_new/1") == "write"
    assert scope_covers({"read"}, "read:statuses") and not scope_covers({"read"}, "write:statuses")
    assert scope_covers({"follow"}, "write:follows") and scope_covers({"follow"}, "read:blocks")
    assert not scope_covers({"follow"}, "write:statuses") and not scope_covers({"read:statuses"}, "read")
    assert scope_covers({"write"}, "write:follows")


async def test_failed_logins_are_throttled(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    await person_with_password(inst, "bob")
    app = await register(inst)
    _, fields = await login_form(inst, app)
    for _ in range(5):
        resp = await submit(inst, fields, password="wrong")
        page = await resp.get_data(as_text=True)
        assert resp.status_code == 401 and "Wrong username or password" in page and "Location" not in resp.headers
        fields = hidden_fields(page)
    resp = await submit(inst, fields)                  # even the right password waits now
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0 and "Location" not in resp.headers
    assert not await AuthCode.all().exists()
    # another user from the same address is not locked out by alice's failures
    resp = await submit(inst, fields, username="bob")
    assert resp.status_code == 302


async def test_the_login_form_needs_its_csrf_token(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    _, fields = await login_form(inst, app, state="s1")
    missing = {k: v for k, v in fields.items() if k != "csrf_token"}
    resp = await submit(inst, missing)
    assert resp.status_code == 403 and "Location" not in resp.headers
    issued, _, mac = fields["csrf_token"].partition(".")
    resp = await submit(inst, {**fields, "csrf_token": f"{issued}.{mac[::-1]}"})
    assert resp.status_code == 403
    # the token is bound to the request it was issued for
    resp = await submit(inst, {**fields, "scope": "read write follow"})
    assert resp.status_code == 403
    resp = await submit(inst, {**fields, "state": "s2"})
    assert resp.status_code == 403
    # and to the browser's cookie
    inst.client.cookie_jar.clear()
    resp = await submit(inst, fields)
    assert resp.status_code == 403
    assert not await AuthCode.all().exists()
    # a fresh form works
    _, fields = await login_form(inst, app, state="s1")
    assert (await submit(inst, fields)).status_code == 302


async def test_deny_and_oob(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst, redirect=f"{REDIRECT}\nurn:ietf:wg:oauth:2.0:oob")
    _, fields = await login_form(inst, app, state="abc")
    resp = await submit(inst, fields, username="", password="", decision="deny")
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["abc"] and "code" not in query

    oob = "urn:ietf:wg:oauth:2.0:oob"
    _, fields = await login_form(inst, app, redirect_uri=oob)
    resp = await submit(inst, fields)
    page = await resp.get_data(as_text=True)
    assert resp.status_code == 200
    code = re.search(r'id="code" class="oauth-code" readonly value="([^"]+)"', page).group(1)
    resp = await exchange(inst, app, code, redirect_uri=oob)
    assert resp.status_code == 200, await resp.get_data()


async def test_unsupported_grants_and_metadata(app_ctx):
    inst = app_ctx
    await person_with_password(inst)
    app = await register(inst)
    resp = await inst.client.post("/oauth/token", form={"grant_type": "password", "username": "alice",
                                                        "password": PASSWORD, "client_id": app["client_id"],
                                                        "client_secret": app["client_secret"]})
    assert resp.status_code == 400
    assert (await resp.get_json())["error"] == "unsupported_grant_type"
    assert "error_description" in await resp.get_json()

    resp = await inst.client.get("/.well-known/oauth-authorization-server")
    doc = await resp.get_json()
    base = "https://fedi.test"
    assert doc["issuer"] == f"{base}/"
    assert doc["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth/token"
    assert doc["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert doc["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in doc["grant_types_supported"]
    assert {"authorization_code", "client_credentials", "refresh_token"} <= set(doc["grant_types_supported"])
    assert {"read", "write", "follow", "push", "read:statuses", "write:media"} <= set(doc["scopes_supported"])
    assert "client_secret_post" in doc["token_endpoint_auth_methods_supported"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_app_registration_checks_its_input(app_ctx):
    inst = app_ctx
    blank = await inst.client.post("/api/v1/apps", form={"redirect_uris": REDIRECT})
    assert blank.status_code == 422
    for bad in ("javascript:alert(1)", "https://client.example/cb#frag", "not a uri", "/relative"):
        resp = await inst.client.post("/api/v1/apps", form={"client_name": "x", "redirect_uris": bad})
        assert resp.status_code == 422, bad
    resp = await inst.client.post("/api/v1/apps", form={"client_name": "x", "scopes": "read admin:write"})
    assert resp.status_code == 422
    resp = await inst.client.post("/api/v1/apps", json={"client_name": "Native", "scopes": "read:statuses push",
                                                        "redirect_uris": ["myapp://oauth", REDIRECT]})
    body = await resp.get_json()
    assert resp.status_code == 200 and body["redirect_uris"] == ["myapp://oauth", REDIRECT]
    assert body["scopes"] == ["read:statuses", "push"] and body["client_secret"] and body["website"] is None
    plain = await inst.client.post("/api/v1/apps", form={"client_name": "Plain"})
    assert (await plain.get_json())["redirect_uri"] == "urn:ietf:wg:oauth:2.0:oob"
    assert (await plain.get_json())["scopes"] == ["read"]


@pytest.mark.parametrize("stored_kind", ["scrypt", "argon2"])
async def test_passwords_old_and_new_log_in_and_old_ones_are_rehashed(app_ctx, stored_kind):
    inst = app_ctx
    alice = await person_with_password(inst)
    if stored_kind == "scrypt":
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
        alice.password_hash = f"scrypt${salt.hex()}${digest.hex()}"
        await alice.save()
        assert check_password(PASSWORD, alice.password_hash) and password_needs_rehash(alice.password_hash)
        assert not check_password("wrong", alice.password_hash)
    app = await register(inst)
    await user_token(inst, app)
    after = (await Account.get(id=alice.id)).password_hash
    assert after.startswith("$argon2id$") and not password_needs_rehash(after)
    assert check_password(PASSWORD, after) and not check_password("wrong", after)
    assert not check_password(PASSWORD, None) and not check_password(PASSWORD, "md5$x")
    assert hash_password(PASSWORD) != hash_password(PASSWORD)
