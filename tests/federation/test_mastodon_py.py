"""The real Mastodon.py client drives `fedi serve` processes: app registration, the OAuth code flow
(the login form posted as a browser would), the API calls an image client makes, following an account
on a second instance, and the HTTP streaming API (server-sent events) read by Mastodon.py's listener."""

from __future__ import annotations

import http.cookiejar
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin

import pytest

from tests.federation.instance import Instance, env_for, free_port, user_with_token, wait_for
from tests.helpers import png_bytes

mastodon = pytest.importorskip("mastodon")

# Mastodon.py warns about servers reporting 4.3.0 whatever /api/v2/instance says of api_versions
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


class Listener(mastodon.StreamListener):
    """Records what a stream delivers (called on Mastodon.py's reader thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, Any]] = []
        self.heartbeats = 0
        self.aborted: list[Exception] = []

    def on_update(self, status: Any) -> None:
        self.events.append(("update", status))

    def on_status_update(self, status: Any) -> None:
        self.events.append(("status.update", status))

    def on_notification(self, notification: Any) -> None:
        self.events.append(("notification", notification))

    def on_delete(self, status_id: Any) -> None:
        self.events.append(("delete", status_id))

    def on_abort(self, err: Exception) -> None:
        self.aborted.append(err)

    def handle_heartbeat(self) -> None:  # the `:)` that opens the stream, then `:thump` every 15 s
        self.heartbeats += 1

    def of(self, kind: str) -> list[Any]:
        return [payload for k, payload in list(self.events) if k == kind]


def hang_up(handle: Any) -> None:
    """Close a stream. Mastodon.py's close() waits for its reader thread's blocked read to return, which
    is at the next heartbeat (15 s): so close() runs in a thread, and once it has marked the handle closed
    the socket is shut down, which ends the read at once (as the server sees it: the client hung up)."""
    closer = threading.Thread(target=handle.close, daemon=True)
    closer.start()
    wait_for(lambda: handle.closed, what="close() to start")
    sock = getattr(getattr(handle.connection, "raw", None), "connection", None)
    if sock is not None and sock.sock is not None:
        with suppress(OSError):
            sock.sock.shutdown(socket.SHUT_RDWR)
    closer.join(20)
    handle.join(20)
    assert not closer.is_alive() and not handle.is_alive(), "the stream did not close"


@contextmanager
def listening(open_stream: Callable[[Listener], Any]) -> Iterator[Listener]:
    """A stream opened with run_async=True, subscribed once its first comment is read; closed at the end."""
    listener = Listener()
    handle = open_stream(listener)
    try:
        wait_for(lambda: listener.heartbeats, what="the stream to open")
        yield listener
        assert listener.aborted == []
    finally:
        hang_up(handle)


def _client(inst: Instance, token: str) -> Any:
    return mastodon.Mastodon(access_token=token, api_base_url=inst.base, version_check_mode="created")


def test_mastodon_py_streams_statuses_and_notifications(instance):
    inst = instance
    alice_token, bob_token = user_with_token(inst, "alice"), user_with_token(inst, "bob")
    inst.start()
    api = _client(inst, alice_token)
    assert api.stream_healthy()
    with (listening(lambda lst: api.stream_user(lst, run_async=True)) as user,
          listening(lambda lst: api.stream_public(lst, run_async=True)) as public,
          listening(lambda lst: api.stream_public(lst, run_async=True, local=True)) as local,
          listening(lambda lst: api.stream_hashtag("owls", lst, run_async=True)) as tag):
        status = api.status_post("Owl at dusk #owls", visibility="public")
        for listener in (user, public, local, tag):
            [got] = wait_for(lambda lst=listener: [s for s in lst.of("update") if s.id == status.id],
                             what="the update on every stream")
            assert isinstance(got, mastodon.return_types.Status) and got.account.acct == "alice"
            assert "Owl at dusk" in got.content

        inst.api("POST", f"/api/v1/statuses/{status.id}/favourite", bob_token)
        [note] = wait_for(lambda: user.of("notification"), what="the notification on the user stream")
        assert note.type == "favourite" and note.account.acct == "bob" and note.status.id == status.id
        assert public.of("notification") == []

        api.status_update(status.id, "Owl at dusk, edited #owls")
        [edited] = wait_for(lambda: user.of("status.update"), what="the edit on the user stream")
        assert edited.id == status.id and "edited" in edited.content and edited.edited_at is not None

        api.status_delete(status.id)
        for listener in (user, public):
            wait_for(lambda lst=listener: [i for i in lst.of("delete") if str(i) == str(status.id)],
                     what="the delete")


def test_mastodon_py_follows_an_account_on_another_instance(pair, tmp_path):
    a, b = pair
    alice_token, bob_token = user_with_token(a, "alice"), user_with_token(b, "bob")
    a.start()
    b.start()
    api = _client(a, alice_token)
    handle = f"bob@{b.domain}"
    found = api.search_v2(handle, resolve=True)
    assert [acc.acct for acc in found.accounts] == [handle]
    bob = api.account_lookup(handle)
    assert bob.id == found.accounts[0].id and bob.username == "bob"
    api.account_follow(bob)
    wait_for(lambda: api.account_relationships(bob)[0].following, what="the Accept to arrive")

    with listening(lambda lst: api.stream_user(lst, run_async=True)) as live:
        # bob posts an image on b: it reaches alice's home timeline, and her user stream as it arrives
        img = tmp_path / "owl.png"
        img.write_bytes(png_bytes(320, 200))
        uri = b.cli("post", "bob", str(img), "--caption", "Owl at night #aiart").stdout.strip().splitlines()[-1]
        seen = wait_for(lambda: next((s for s in api.timeline_home() if s.uri == uri), None),
                        what="bob's post in alice's home timeline")
        assert seen.account.acct == handle and "Owl at night" in seen.content
        assert [m.type for m in seen.media_attachments] == ["image"]
        [streamed] = wait_for(lambda: [s for s in live.of("update") if s.uri == uri], what="the streamed post")
        assert streamed.id == seen.id

        # alice posts; bob finds it on b by its URL, favourites it and mentions alice: she is told
        mine = api.status_post("Fox at dawn", visibility="public")
        copy = b.api("GET", f"/api/v2/search?q={quote(mine.uri, safe='')}&resolve=true", bob_token)["statuses"][0]
        b.api("POST", f"/api/v1/statuses/{copy['id']}/favourite", bob_token)
        b.api("POST", "/api/v1/statuses", bob_token, {"status": f"@alice@{a.domain} lovely fox"})

        def told() -> dict[str, Any]:
            notes = {n.type: n for n in api.notifications()}
            return notes if {"favourite", "mention"} <= notes.keys() else {}

        notes = wait_for(told, what="the favourite and the mention from b")
        assert notes["favourite"].account.acct == handle and notes["favourite"].status.id == mine.id
        assert notes["mention"].account.acct == handle and "lovely fox" in notes["mention"].status.content
        wait_for(lambda: {n.type for n in live.of("notification")} >= {"favourite", "mention"},
                 what="both notifications on the user stream")
