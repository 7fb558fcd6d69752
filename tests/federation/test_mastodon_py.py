"""The real Mastodon.py client drives a `fedi serve` process: app registration, the OAuth code flow
(the login form posted as a browser would), then the API calls an image client makes."""

from __future__ import annotations

import http.cookiejar
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest

from tests.federation.instance import Instance, env_for, free_port, user_with_token, wait_for
from tests.helpers import png_bytes

mastodon = pytest.importorskip("mastodon")

# Mastodon.py warns that a 4.3.0 server should list "api_versions" in /api/v2/instance (fedi does not yet)
pytestmark = [pytest.mark.federation,
              pytest.mark.filterwarnings("ignore:Mastodon version is detected as >= 4.3.0")]

PASSWORD = "a long enough password"
SCOPES = ["read", "write", "follow", "push"]
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture
def instance(instance_env, tmp_path: Path) -> Iterator[Instance]:
    """One `fedi serve` process on loopback with its own database."""
    port = free_port()
    inst = Instance(env_for(instance_env(0, port)), port, tmp_path, "solo")
    try:
        yield inst
    finally:
        inst.stop()


class _Form(HTMLParser):
    """The login form's action and fields, and the code input of the result page."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.code: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("id") == "code":
            self.code = a.get("value")


def browser_login(url: str, username: str, password: str) -> str:
    """Open the authorization page, fill in the form and submit it, keeping cookies like a browser."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(url, timeout=15) as resp:
        form = _Form()
        form.feed(resp.read().decode())
    assert form.action and form.fields.get("csrf_token"), "no login form"
    data = urlencode({**form.fields, "username": username, "password": password, "decision": "authorize"})
    with opener.open(urllib.request.Request(urljoin(url, form.action), data=data.encode()), timeout=15) as resp:
        result = _Form()
        result.feed(resp.read().decode())
    assert result.code, "no authorization code on the page"
    return result.code


def test_mastodon_py_logs_in_with_oauth_and_posts_an_image(instance):
    inst = instance
    inst.cli("user", "create", "alice", "--display-name", "Alice", "--password", PASSWORD)
    bob_token = user_with_token(inst, "bob")
    inst.start()

    client_id, client_secret = mastodon.Mastodon.create_app(
        "fedi test client", scopes=SCOPES, redirect_uris=OOB, website="https://client.example",
        api_base_url=inst.base)
    # "created": Mastodon.py reads /api/v1/instance ("4.3.0 (compatible; fedi ...)") and checks each
    # call against that version
    api = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=inst.base,
                            version_check_mode="created")
    info = api.oauth_authorization_server_info()
    assert info["token_endpoint"] == f"{inst.base}/oauth/token" and "password" not in info["grant_types_supported"]
    url = api.auth_request_url(scopes=SCOPES, redirect_uris=OOB, allow_http=True)
    assert url.startswith(f"{inst.base}/oauth/authorize?")
    code = browser_login(url, "alice", PASSWORD)
    token = api.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    assert token

    me = api.account_verify_credentials()
    assert me.username == "alice" and me.acct == "alice"
    assert api.app_verify_credentials().name == "fedi test client"

    image = BytesIO(png_bytes(320, 200))
    media = api.media_post(image, mime_type="image/png", description="a red fox at dawn")
    assert media.type == "image" and media.description == "a red fox at dawn"
    status = api.status_post("Fox at dawn #aiart", media_ids=[media], visibility="public")
    assert [m.id for m in status.media_attachments] == [media.id]
    assert "Fox at dawn" in status.content

    home = api.timeline_home()
    assert status.id in [s.id for s in home]
    faved = api.status_favourite(status)
    assert faved.favourited and faved.favourites_count == 1

    # bob (a token from the CLI) favourites the post too: alice is told
    inst.api("POST", f"/api/v1/statuses/{status.id}/favourite", bob_token)
    notes = wait_for(lambda: [n for n in api.notifications() if n.type == "favourite"], what="a notification")
    assert notes[0].account.acct == "bob" and notes[0].status.id == status.id

    # revoked at the end: the token stops working
    api.revoke_access_token(allow_http=True)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        mastodon.Mastodon(access_token=token, api_base_url=inst.base).account_verify_credentials()


def test_mastodon_py_password_login_is_refused(instance):
    inst = instance
    inst.cli("user", "create", "alice", "--password", PASSWORD)
    inst.start()
    client_id, client_secret = mastodon.Mastodon.create_app("fedi test client", api_base_url=inst.base)
    api = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=inst.base)
    with pytest.raises(mastodon.MastodonIllegalArgumentError):
        api.log_in("alice", PASSWORD, allow_http=True)
