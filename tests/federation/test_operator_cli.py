"""The operator commands as a self-hoster runs them: `fedi user|domain|deliveries|doctor` against real
`fedi serve` processes on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fedi.admin import BLOCK_TTL
from tests.federation.instance import AS2, Instance, env_for, free_port, user_with_token, wait_for
from tests.helpers import png_bytes

pytestmark = pytest.mark.federation


def _one_line_error(result) -> str:
    assert result.returncode != 0, result.stdout
    assert result.stderr.strip() and result.stderr.strip().count("\n") == 0, result.stderr
    return result.stderr.strip()


def _follow(b: Instance, b_token: str, a: Instance, name: str) -> None:
    found = b.api("GET", f"/api/v2/search?q={name}@{a.domain}&resolve=true", b_token)
    remote_id = found["accounts"][0]["id"]
    b.api("POST", f"/api/v1/accounts/{remote_id}/follow", b_token)
    wait_for(lambda: b.api("GET", f"/api/v1/accounts/relationships?id[]={remote_id}", b_token)[0]["following"],
             what=f"b to follow {name}")


def _post(a: Instance, tmp_path: Path, name: str, caption: str) -> str:
    img = tmp_path / f"{name}.png"
    img.write_bytes(png_bytes(120, 80))
    return a.cli("post", name, str(img), "--caption", caption).stdout.strip().splitlines()[-1]


def _in_home(b: Instance, token: str, uri: str) -> bool:
    return any(s["uri"] == uri for s in b.api("GET", "/api/v1/timelines/home", token))


def _doctor_lines(result) -> list[str]:
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.split(" ", 1)[0] in ("ok", "warn", "FAIL", "hint") for line in lines), lines
    return lines


def test_user_commands_on_a_running_instance(pair, tmp_path):
    a, b = pair
    a_token, b_token = user_with_token(a, "alice"), user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "alice")
    uri = _post(a, tmp_path, "alice", "before anything")
    wait_for(lambda: _in_home(b, b_token, uri), what="the post on b")

    listed = a.cli("user", "list").stdout.strip().splitlines()
    assert listed == ["alice\tAlice\tactive\tposts=1\tfollowers=1\tfollowing=0"]
    [row] = json.loads(a.cli("user", "list", "--json").stdout)
    assert (row["username"], row["state"], row["posts"], row["followers"]) == ("alice", "active", 1, 1)
    summary = a.cli("deliveries", "--summary").stdout.splitlines()
    assert summary[0].split() == ["host", "pending", "done", "dead", "last", "error"]
    assert summary[1].split()[:4] == [b.domain, "0", "2", "0"]   # the Accept and the post
    assert json.loads(a.cli("deliveries", "--summary", "--json").stdout)[0]["done"] == 2
    assert a.cli("deliveries", "--state", "done").stdout.startswith("done")
    assert _doctor_lines(a.cli("doctor"))[0].startswith("ok   config")

    # suspend: the token stops working at once, discovery within the server's short cache
    assert a.cli("user", "suspend", "alice").stdout.strip() == "suspended alice"
    assert a.get("/api/v1/accounts/verify_credentials", token=a_token)[0] == 401
    wait_for(lambda: a.get(f"/.well-known/webfinger?resource=acct:alice@{a.domain}")[0] == 404,
             what="WebFinger to forget alice")
    assert a.get("/users/alice", accept=AS2)[0] == 404
    assert "suspended" in a.cli("user", "list").stdout
    assert a.cli("user", "unsuspend", "alice").stdout.strip() == "unsuspended alice"
    assert a.get("/api/v1/accounts/verify_credentials", token=a_token)[0] == 200
    wait_for(lambda: a.get(f"/.well-known/webfinger?resource=acct:alice@{a.domain}")[0] == 200,
             what="WebFinger to find alice again")

    generated = a.cli("user", "reset-password", "alice").stdout.strip().splitlines()[-1]
    assert len(generated) >= 16
    assert "changed" in a.cli("user", "reset-password", "alice", "--password", "a long new one").stdout
    assert "8 characters" in _one_line_error(a.cli("user", "reset-password", "alice", "--password", "x",
                                                   check=False))
    for args in (("suspend", "nobody"), ("unsuspend", "nobody"), ("reset-password", "nobody"),
                 ("delete", "nobody", "--yes")):
        assert "nobody" in _one_line_error(a.cli("user", *args, check=False))

    # delete: refused without --yes (nothing changes), then Delete(actor) reaches b
    assert "--yes" in _one_line_error(a.cli("user", "delete", "alice", check=False))
    assert a.get("/users/alice", accept=AS2)[0] == 200
    out = a.cli("user", "delete", "alice", "--yes").stdout.strip()
    assert out.startswith("deleted alice: 1 posts") and "Delete queued for 1 inbox(es)" in out
    wait_for(lambda: not _in_home(b, b_token, uri), what="b to drop the deleted account's post")
    wait_for(lambda: b.api("GET", "/api/v1/accounts/verify_credentials", b_token)["following_count"] == 0,
             what="b to drop the follow")
    assert a.get(uri, accept=AS2)[0] == 410
    assert a.get("/api/v1/accounts/verify_credentials", token=a_token)[0] == 401
    assert "deleted" in a.cli("user", "list").stdout
    assert "was deleted" in _one_line_error(a.cli("user", "unsuspend", "alice", check=False))
    assert "already exists" in _one_line_error(a.cli("user", "create", "alice", check=False))
    wait_for(lambda: "done" in a.cli("deliveries", "--state", "done").stdout.splitlines()[-1], what="the Delete")


def test_domain_block_on_a_running_instance(pair, tmp_path):
    a, b = pair
    carol_token, b_token = user_with_token(a, "carol"), user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "carol")
    first = _post(a, tmp_path, "carol", "seen before the block")
    wait_for(lambda: _in_home(b, b_token, first), what="the post on b")
    status = next(s for s in b.api("GET", "/api/v1/timelines/home", b_token) if s["uri"] == first)
    local = next(s for s in a.api("GET", "/api/v1/timelines/home", carol_token) if s["uri"] == first)

    def favourites() -> int:
        return int(a.api("GET", f"/api/v1/statuses/{local['id']}", carol_token)["favourites_count"])

    assert "not a domain" in _one_line_error(a.cli("domain", "block", "https://x.example/", check=False))
    assert "itself" in _one_line_error(a.cli("domain", "block", a.domain, check=False))
    out = a.cli("domain", "block", b.domain.upper(), "--reason", "testing").stdout.strip()
    assert out == f"blocked {b.domain}: removed 1 follows, 0 pending deliveries marked dead"
    assert a.cli("domain", "list").stdout.strip() == \
        f"{b.domain}\t{json.loads(a.cli('domain', 'list', '--json').stdout)[0]['created_at']}\ttesting"
    assert a.get("/users/carol/followers", accept=AS2)[1]["totalItems"] == 0
    time.sleep(BLOCK_TTL + 0.5)   # the running server reads blocks again after BLOCK_TTL

    # b's activities are refused: its delivery of a Like ends dead with a 403
    b.api("POST", f"/api/v1/statuses/{status['id']}/favourite", b_token)

    def dead_403() -> bool:
        rows = json.loads(b.cli("deliveries", "--state", "dead", "--json").stdout)
        return any(r["last_status"] == 403 for r in rows)

    wait_for(dead_403, what="b's Like refused with 403")
    assert favourites() == 0
    # nothing is sent to b: a new post queues nothing for it
    _post(a, tmp_path, "carol", "after the block")
    assert a.cli("deliveries").stdout.strip() == "no deliveries"
    # and b's accounts are not looked up
    found = a.api("GET", f"/api/v2/search?q=bob@{b.domain}&resolve=true", carol_token)
    assert found["accounts"] == []

    assert a.cli("domain", "unblock", b.domain).stdout.strip() == f"unblocked {b.domain}"
    assert "not blocked" in _one_line_error(a.cli("domain", "unblock", b.domain, check=False))
    assert a.cli("domain", "list").stdout.strip() == "no blocked domains"
    time.sleep(BLOCK_TTL + 0.5)
    assert b.cli("deliveries", "--retry-dead").stdout.strip() == "1 dead deliveries requeued"
    wait_for(lambda: favourites() == 1, what="b's Like delivered after the unblock")
    [host] = json.loads(b.cli("deliveries", "--summary", "--json").stdout)
    assert (host["host"], host["dead"], host["pending"]) == (a.domain, 0, 0)


def test_doctor_passes_on_a_healthy_instance_and_fails_on_a_broken_one(instance_env, tmp_path):
    port = free_port()
    inst = Instance(env_for(instance_env(0, port)), port, tmp_path, "doc")
    if "FEDI_DATABASE_URL" not in inst.env:   # a PostgreSQL test database may hold tables from an earlier test
        fresh = inst.cli("doctor", check=False)
        assert any(line.startswith("FAIL database: no database") for line in _doctor_lines(fresh))
        assert "database" in _one_line_error(fresh)
        assert not (tmp_path / "instance0" / "fedi.sqlite3").exists()   # doctor creates nothing
    user_with_token(inst, "alice")
    try:
        inst.start()
        healthy = inst.cli("doctor", check=False)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        lines = _doctor_lines(healthy)
        names = [line.split(" ", 1)[1].strip().split(":")[0] for line in lines if not line.startswith("hint")]
        for name in ("config", "data dir", "media dir", "disk", "database", "deliveries", "hosts", "server", "dns"):
            assert name in names, lines
        assert not any(line.startswith("FAIL") for line in lines)
        assert any(line.startswith("ok   server") for line in lines)
        assert any("curl" in line for line in lines if line.startswith("hint"))
    finally:
        inst.stop()

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    broken_dir = Instance(dict(inst.env, FEDI_DATA_DIR=str(blocker)), port, tmp_path, "broken")
    result = broken_dir.cli("doctor", check=False)
    assert any(line.startswith("FAIL data dir") for line in _doctor_lines(result))
    assert "data dir" in _one_line_error(result)

    bad_scheme = Instance(dict(inst.env, FEDI_DATABASE_URL="mysql://x@127.0.0.1/db"), port, tmp_path, "bad")
    result = bad_scheme.cli("doctor", check=False)
    assert _doctor_lines(result)[0].startswith("FAIL config: FEDI_DATABASE_URL")
    _one_line_error(result)

    unreachable = Instance(dict(inst.env, FEDI_DATABASE_URL=f"postgres://nobody:secret@127.0.0.1:{free_port()}/x"),
                           port, tmp_path, "unreachable")
    result = unreachable.cli("doctor", check=False)
    [db_line] = [line for line in _doctor_lines(result) if line.split(" ", 1)[1].strip().startswith("database")]
    assert db_line.startswith("FAIL") and "secret" not in db_line
    assert "database" in _one_line_error(result)
