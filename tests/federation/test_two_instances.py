"""Two real instances on loopback, talking HTTP with real signatures, driven through the contract."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest

from tests.federation.instance import AS2, Instance, user_with_token, wait_for
from tests.helpers import png_bytes

pytestmark = pytest.mark.federation


def _follow(b: Instance, b_token: str, a: Instance, name: str) -> dict:
    found = b.api("GET", f"/api/v2/search?q={name}@{a.domain}&resolve=true", b_token)
    assert [acc["acct"] for acc in found["accounts"]] == [f"{name}@{a.domain}"]
    remote_id = found["accounts"][0]["id"]
    b.api("POST", f"/api/v1/accounts/{remote_id}/follow", b_token)
    wait_for(lambda: b.api("GET", f"/api/v1/accounts/relationships?id[]={remote_id}", b_token)[0]["following"],
             what="the Accept to arrive")
    return found["accounts"][0]


def _post(a: Instance, tmp_path: Path, name: str, caption: str) -> str:
    img = tmp_path / "picture.png"
    img.write_bytes(png_bytes(320, 200))
    result = a.cli("post", name, str(img), "--caption", caption, "--prompt", "a red fox", "--model", "test-model")
    return result.stdout.strip().splitlines()[-1]


def _home_status(b: Instance, token: str, uri: str) -> dict:
    def find() -> dict | None:
        return next((s for s in b.api("GET", "/api/v1/timelines/home", token) if s["uri"] == uri), None)
    return wait_for(find, what=f"{uri} in the home timeline")


def _local_status(a: Instance, token: str, uri: str) -> dict:
    statuses = a.api("GET", "/api/v1/timelines/home", token)
    return next(s for s in statuses if s["uri"] == uri)


def test_follow_post_interact_undo_delete(pair, tmp_path):
    a, b = pair
    a_token, b_token = user_with_token(a, "alice"), user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "alice")
    alice_followers = a.get("/users/alice/followers", accept=AS2)[1]
    assert alice_followers["totalItems"] == 1

    uri = _post(a, tmp_path, "alice", "Fox at dawn #aiart")
    seen = _home_status(b, b_token, uri)
    assert "Fox at dawn" in seen["content"]
    assert seen["account"]["acct"] == f"alice@{a.domain}"
    [media] = seen["media_attachments"]
    assert media["meta"]["original"]["width"] == 320 and media["blurhash"]
    with urllib.request.urlopen(media["url"], timeout=5) as resp:  # noqa: S310 - loopback
        assert resp.headers["Content-Type"].startswith("image/")
    local_id = _local_status(a, a_token, uri)["id"]

    b.api("POST", f"/api/v1/statuses/{seen['id']}/favourite", b_token)
    b.api("POST", f"/api/v1/statuses/{seen['id']}/reblog", b_token)
    b.api("POST", "/api/v1/statuses", b_token, {"status": f"@alice@{a.domain} lovely", "in_reply_to_id": seen["id"]})

    def counts() -> tuple[int, int, int]:
        s = a.api("GET", f"/api/v1/statuses/{local_id}", a_token)
        return s["favourites_count"], s["reblogs_count"], s["replies_count"]

    wait_for(lambda: counts() == (1, 1, 1), what="like, boost and reply counted on the origin")
    kinds = sorted(n["type"] for n in a.api("GET", "/api/v1/notifications", a_token))
    assert kinds == ["favourite", "follow", "mention", "reblog"]

    b.api("POST", f"/api/v1/statuses/{seen['id']}/unfavourite", b_token)
    b.api("POST", f"/api/v1/statuses/{seen['id']}/unreblog", b_token)
    wait_for(lambda: counts() == (0, 0, 1), what="the undos counted on the origin")

    a.api("DELETE", f"/api/v1/statuses/{local_id}", a_token)
    assert a.get(uri, accept=AS2)[0] == 410
    wait_for(lambda: b.get(f"/api/v1/statuses/{seen['id']}", token=b_token)[0] == 404,
             what="the delete to reach b")


def test_unsigned_and_forged_activities_are_refused(pair, tmp_path):
    a, b = pair
    a_token = user_with_token(a, "alice")
    a.start()
    uri = _post(a, tmp_path, "alice", "mine")
    local_id = _local_status(a, a_token, uri)["id"]
    like = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{b.base}/users/mallory#likes/1",
            "type": "Like", "actor": f"{b.base}/users/mallory", "object": uri}
    import json
    status, body = a.request("POST", "/users/alice/inbox", data=json.dumps(like).encode(),
                             headers={"Content-Type": "application/activity+json"})
    assert status == 401 and "error" in body
    forged_sig = {"Content-Type": "application/activity+json", "Date": "Thu, 01 Jan 2026 00:00:00 GMT",
                  "Signature": f'keyId="{b.base}/users/mallory#main-key",algorithm="rsa-sha256",'
                               'headers="(request-target) host date digest",signature="Zm9v"',
                  "Digest": "SHA-256=AAAA"}
    status, _ = a.request("POST", "/inbox", data=json.dumps(like).encode(), headers=forged_sig)
    assert status == 401
    assert a.api("GET", f"/api/v1/statuses/{local_id}", a_token)["favourites_count"] == 0


def test_remote_down_then_back_and_restart_with_pending(pair, tmp_path):
    a, b = pair
    user_with_token(a, "alice")
    b_token = user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "alice")

    # b goes away; a post cannot be delivered and stays pending
    b.stop()
    uri = _post(a, tmp_path, "alice", "while you were out")
    wait_for(lambda: "pending" in a.cli("deliveries", uri).stdout and "tries=1" in a.cli("deliveries", uri).stdout,
             what="a failed first attempt")
    # a crashes (kill -9) with the delivery pending, then both come back
    a.stop(signal.SIGKILL)
    b.start()
    a.start()
    a.cli("deliveries", "--retry-now")
    _home_status(b, b_token, uri)
    report = a.cli("deliveries", uri).stdout
    assert report.startswith("done") and "tries=1" in report


def test_cli_errors_are_one_line_and_change_nothing(pair, tmp_path):
    a, _ = pair
    user_with_token(a, "alice")
    missing = a.cli("post", "nobody", str(tmp_path / "x.png"), check=False)
    assert missing.returncode != 0 and missing.stderr.strip().count("\n") == 0 and "nobody" in missing.stderr
    not_image = tmp_path / "page.png"
    not_image.write_text("<html>hello</html>")
    bad = a.cli("post", "alice", str(not_image), check=False)
    assert bad.returncode != 0 and "image" in bad.stderr
    unreadable = a.cli("post", "alice", str(tmp_path / "nope.png"), check=False)
    assert unreadable.returncode != 0 and "cannot read" in unreadable.stderr
    dup = a.cli("user", "create", "alice", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    a.start()
    assert a.get("/api/v1/accounts/verify_credentials")[0] == 401
    statuses = a.get("/users/alice/outbox", accept=AS2)[1]
    assert statuses["totalItems"] == 0


def test_cli_writes_while_the_server_writes(pair, tmp_path):
    """Several `fedi post` processes at once against a running server's database: none is lost."""
    import subprocess
    import sys
    a, _ = pair
    token = user_with_token(a, "alice")
    a.start()
    img = tmp_path / "p.png"
    img.write_bytes(png_bytes(64, 64))
    procs = [subprocess.Popen([sys.executable, "-m", "fedi.cli", "post", "alice", str(img), "--caption", f"n{i}"],
                              env=a.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    for i in range(10):  # the server writes at the same time
        a.api("POST", "/api/v1/statuses", token, {"status": f"api {i}"})
    results = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    assert len(a.api("GET", "/api/v1/timelines/home?limit=40", token)) == 16
