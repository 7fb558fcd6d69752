"""The web gallery, in process: pages, sessions, CSRF, login throttling and the forms."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from io import BytesIO

from werkzeug.datastructures import FileStorage

from fedi.models import Account, Follow, Like, Media, Post
from tests.helpers import png_bytes

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def person(inst, name: str = "alice", password: str = PASSWORD):
    from fedi.accounts import create_token, create_user
    account = await create_user(inst.state.urls, name, name.title(), password)
    return account, await create_token(account)


async def page(inst, path: str, status: int = 200) -> str:
    resp = await inst.client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return await resp.get_data(as_text=True)


async def csrf(inst, path: str = "/login") -> str:
    match = CSRF_RE.search(await page(inst, path))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def sign_in(inst, name: str = "alice", password: str = PASSWORD):
    token = await csrf(inst)
    return await inst.client.post("/login", form={"username": name, "password": password, "csrf_token": token,
                                                  "next": "/home"})


async def api_post(inst, token: str, **extra) -> dict:
    image = FileStorage(BytesIO(png_bytes(80, 40)), "fox.png", content_type="image/png")
    upload = await inst.api("POST", "/api/v2/media", token, form={"description": extra.pop("alt", "a fox")},
                            files={"file": image})
    media = await upload.get_json()
    body = {"status": "Fox at dawn #aiart", "media_ids": [media["id"]], "model": "sdxl-1.0",
            "prompt": "a red fox at dawn", "seed": 42, **extra}
    return await (await inst.api("POST", "/api/v1/statuses", token, json=body)).get_json()


async def test_pages_render_with_alt_text_and_a_strict_policy(app_ctx):
    inst = app_ctx
    _, token = await person(inst)
    status = await api_post(inst, token)
    resp = await inst.client.get("/")
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and resp.headers["X-Content-Type-Options"] == "nosniff"
    home = await resp.get_data(as_text=True)
    assert 'alt="a fox"' in home and f'href="/@alice/{status["id"]}"' in home and 'width="80" height="40"' in home
    assert "<script>" not in home and "style=" not in home and '<main id="main"' in home
    profile = await page(inst, "/@alice")
    assert "Alice" in profile and "@alice@fedi.test" in profile and 'alt="a fox"' in profile
    assert re.search(r"<strong>1</strong> post\b", profile)
    post = await page(inst, f"/@alice/{status['id']}")
    for needle in ('alt="a fox"', '<meta property="og:image" content="https://fedi.test/media/',
                   '<meta name="twitter:card" content="summary_large_image">', "sdxl-1.0", "a red fox at dawn",
                   "<dd>42</dd>", "Labelled as AI-generated", "Content Credentials: none", "0 likes"):
        assert needle in post, needle
    # the same page at the post's ActivityPub id, for browsers
    same = await inst.client.get(status["uri"].replace("https://fedi.test", ""), headers={"Accept": "text/html"})
    assert 'alt="a fox"' in await same.get_data(as_text=True)
    assert "Content-Security-Policy" in same.headers
    assert 'alt="a fox"' in await page(inst, "/tags/aiart")
    css = await inst.client.get("/assets/fedi.css")
    assert css.status_code == 200 and "object-fit: contain" in await css.get_data(as_text=True)
    assert (await inst.client.get("/home")).headers["Location"].startswith("/login?next=/home")
    assert (await inst.client.get("/@nobody")).status_code == 404
    ap = await inst.client.get(f"/@alice/{status['id']}", headers={"Accept": "application/activity+json"})
    assert ap.status_code == 302 and ap.headers["Location"] == status["uri"]


async def test_text_is_escaped_and_private_prompts_stay_private(app_ctx):
    inst = app_ctx
    _, token = await person(inst)
    status = await api_post(inst, token, alt='"><script>alert(1)</script>', prompt_private=True,
                            status="<img src=x onerror=alert(1)>")
    html = await page(inst, f"/@alice/{status['id']}")
    assert "<script>alert(1)" not in html and "onerror" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;" in html and "a red fox at dawn" not in html and "keeps the prompt private" in html


async def test_login_needs_the_csrf_token_and_sets_a_safe_cookie(app_ctx):
    inst = app_ctx
    await person(inst)
    bare = await inst.client.post("/login", form={"username": "alice", "password": PASSWORD})
    assert bare.status_code == 403
    resp = await sign_in(inst)
    assert resp.status_code == 302 and resp.headers["Location"] == "/home"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie   # the instance is https
    home = await page(inst, "/home")
    assert "Sign out" in home and "no-store" in (await inst.client.get("/home")).headers["Cache-Control"]
    # every POST checks the token
    for path in ("/compose", "/settings", "/follow", "/logout"):
        assert (await inst.client.post(path, form={"csrf_token": "forged"})).status_code == 403, path
    from_elsewhere = await inst.client.post("/logout", form={"csrf_token": await csrf(inst, "/home")},
                                            headers={"Origin": "https://evil.example"})
    assert from_elsewhere.status_code == 403
    assert (await inst.client.post("/logout", form={"csrf_token": await csrf(inst, "/home")})).status_code == 302
    assert (await inst.client.get("/home")).status_code == 302
    key = inst.cfg.data_dir / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) >= 32


async def test_login_throttling(app_ctx):
    inst = app_ctx
    await person(inst)
    for _ in range(5):
        resp = await sign_in(inst, password="wrong password")
        assert resp.status_code == 401 and "Wrong username or password" in await resp.get_data(as_text=True)
    blocked = await sign_in(inst)      # even the right password, for now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in await blocked.get_data(as_text=True)
    await person(inst, "bob")
    assert (await sign_in(inst, "bob")).status_code == 302       # another username is not locked out


async def test_compose_posts_images_with_alt_text_and_generation(app_ctx):
    inst = app_ctx
    alice, token = await person(inst)
    await sign_in(inst)
    form = {"csrf_token": await csrf(inst, "/compose"), "mode": "upload", "caption": "Owl at night #owls",
            "alt1": "An owl on a branch", "alt2": "The same owl, flying", "visibility": "public",
            "model": "flux-dev", "prompt": "an owl at night", "seed": "7", "ai_generated": "on",
            "remix_allowed": "on", "license": "CC-BY-4.0"}
    files = {"image1": FileStorage(BytesIO(png_bytes(60, 90)), "owl.png", content_type="image/png"),
             "image2": FileStorage(BytesIO(png_bytes(90, 60)), "owl2.png", content_type="image/png")}
    resp = await inst.client.post("/compose", form=form, files=files)
    assert resp.status_code == 302, await resp.get_data(as_text=True)
    post_id = resp.headers["Location"].rsplit("/", 1)[1]
    status = await (await inst.api("GET", f"/api/v1/statuses/{post_id}", token)).get_json()
    assert [m["description"] for m in status["media_attachments"]] == ["An owl on a branch", "The same owl, flying"]
    assert status["fedi"]["generation"]["model"] == "flux-dev" and status["fedi"]["generation"]["seed"] == 7
    assert status["media_attachments"][0]["fedi"]["license"] == "CC-BY-4.0" and status["visibility"] == "public"
    html = await page(inst, resp.headers["Location"])
    assert 'alt="An owl on a branch"' in html and "Posted." in html and "CC-BY-4.0" in html
    # an image without alt text is refused, and nothing is posted
    before = await Post.filter(account=alice).count()
    files = {"image1": FileStorage(BytesIO(png_bytes()), "x.png", content_type="image/png")}
    refused = await inst.client.post("/compose", form={**form, "alt1": "", "alt2": ""}, files=files)
    assert refused.status_code == 400 and "needs alt text" in await refused.get_data(as_text=True)
    assert await Post.filter(account=alice).count() == before
    # generated by the instance's generator
    made = await inst.client.post("/compose", form={"csrf_token": form["csrf_token"], "mode": "generate",
                                                    "prompt": "a lighthouse at dusk", "seed": "3", "size": "small",
                                                    "caption": "generated", "visibility": "unlisted"})
    assert made.status_code == 302
    gen = await Post.get(id=int(made.headers["Location"].rsplit("/", 1)[1]))
    assert gen.ai_generated and gen.prompt == "a lighthouse at dusk" and gen.seed == 3 and gen.visibility == "unlisted"
    assert (await Media.get(post_id=gen.id)).width == 512


async def test_reuse_prompt_remix_like_boost_and_reply(app_ctx):
    inst = app_ctx
    _, alice_token = await person(inst)
    bob, bob_token = await person(inst, "bob")
    status = await api_post(inst, alice_token)
    await sign_in(inst, "bob")
    post_html = await page(inst, f"/@alice/{status['id']}")
    assert f'href="/compose?reuse_prompt_of={status["id"]}"' in post_html
    assert f'href="/compose?remix_of={status["id"]}"' in post_html
    compose = await page(inst, f"/compose?remix_of={status['id']}")
    assert ">a red fox at dawn</textarea>" in compose and f'name="remix_of" value="{status["id"]}"' in compose
    token = CSRF_RE.search(post_html).group(1)
    for action in ("favourite", "reblog"):
        resp = await inst.client.post(f"/posts/{status['id']}/{action}", form={"csrf_token": token})
        assert resp.status_code == 302 and resp.headers["Location"] == f"/@alice/{status['id']}"
    got = await (await inst.api("GET", f"/api/v1/statuses/{status['id']}", bob_token)).get_json()
    assert got["favourites_count"] == 1 and got["favourited"] and got["reblogs_count"] == 1
    resp = await inst.client.post(f"/posts/{status['id']}/reply", form={"csrf_token": token, "status": "Lovely!"})
    assert resp.status_code == 302
    post_html = await page(inst, f"/@alice/{status['id']}")
    assert "Liked<span" in post_html and "1 like" in post_html and "Lovely!" in post_html and "1 reply" in post_html
    reply = await Post.get(text="Lovely!")
    assert f'In reply to <a href="/@alice/{status["id"]}"' in await page(inst, f"/@bob/{reply.id}")
    # a remix links to its parent, and the parent lists it
    resp = await inst.client.post("/compose", form={"csrf_token": token, "mode": "generate", "prompt": "a fox, blue",
                                                    "size": "small", "remix_of": status["id"], "remix_allowed": "on"})
    remix_href = resp.headers["Location"]
    assert f'Remix of <a href="/@alice/{status["id"]}"' in await page(inst, remix_href)
    assert f'href="{remix_href}"' in await page(inst, f"/@alice/{status['id']}")
    await inst.client.post(f"/posts/{status['id']}/unfavourite", form={"csrf_token": token})
    assert not await Like.exists(account=bob)


async def test_settings_change_the_ai_filter_and_the_profile(app_ctx):
    inst = app_ctx
    alice, token = await person(inst)
    remote = await Account.create(username="felix", domain="remote.test", uri="https://remote.test/users/felix",
                                  url="https://remote.test/@felix", display_name="Felix", inbox="https://remote.test/i")
    post = await Post.create(id=1, uri="https://remote.test/notes/1", url="https://remote.test/@felix/1",
                             account=remote, content="<p>robot #aiart</p>", ai_generated=True, visibility="public",
                             tags=[{"name": "#aiart"}], published=datetime.now(UTC))
    await Media.create(account=remote, post=post, remote_url="https://remote.test/m/1.png", description="A robot",
                       width=100, height=100)
    await sign_in(inst)
    assert 'alt="A robot"' in await page(inst, "/tags/aiart")
    form = {"csrf_token": await csrf(inst, "/settings"), "display_name": "Alice A.", "bio": "I draw #owls",
            "ai_filter": "hide", "remix_default": "on", "locked": "on"}
    avatar = {"avatar": FileStorage(BytesIO(png_bytes(50, 50)), "me.png", content_type="image/png")}
    resp = await inst.client.post("/settings", form=form, files=avatar)
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings"
    creds = await (await inst.api("GET", "/api/v1/accounts/verify_credentials", token)).get_json()
    assert creds["source"]["fedi"]["ai_filter"] == "hide" and creds["display_name"] == "Alice A."
    assert creds["locked"] is True and "/media/" in creds["avatar"] and "owls" in creds["note"]
    assert 'alt="A robot"' not in await page(inst, "/tags/aiart")
    await inst.client.post("/settings", form={**form, "ai_filter": "blur"})
    tag = await page(inst, "/tags/aiart")
    assert 'alt="A robot"' in tag and "frame veiled" in tag
    remote_page = await page(inst, f"/@felix@remote.test/{post.id}")
    assert "AI-generated image from another server" in remote_page
    assert 'href="https://remote.test/@felix/1"' in remote_page       # remote posts link to their origin
    bad = await inst.client.post("/settings", form={**form, "ai_filter": "sometimes"})
    assert bad.status_code == 400


async def test_follow_by_handle_home_feed_and_notifications(app_ctx):
    inst = app_ctx
    alice, alice_token = await person(inst)
    await person(inst, "bob")
    status = await api_post(inst, alice_token, alt="alice's fox")
    await sign_in(inst, "bob")
    token = await csrf(inst, "/follow")
    resp = await inst.client.post("/follow", form={"csrf_token": token, "handle": "@alice@fedi.test"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/@alice"
    assert await Follow.exists(follower__username="bob", target=alice, accepted=True)
    assert 'alt="alice&#39;s fox"' in await page(inst, "/home")
    missing = await inst.client.post("/follow", form={"csrf_token": token, "handle": "nobody@fedi.test"})
    assert missing.status_code == 404 and "no such account" in await missing.get_data(as_text=True)
    await inst.client.post(f"/posts/{status['id']}/favourite", form={"csrf_token": token})
    await inst.client.post("/logout", form={"csrf_token": token})
    await sign_in(inst)
    notes = await page(inst, "/notifications")
    assert "followed you" in notes and "liked your post" in notes


async def test_a_password_change_ends_other_sessions(app_ctx):
    inst = app_ctx
    await person(inst)
    await sign_in(inst)
    other = inst.app.test_client()
    token = CSRF_RE.search(await (await other.get("/login")).get_data(as_text=True)).group(1)
    await other.post("/login", form={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert (await other.get("/home")).status_code == 200
    form = {"csrf_token": await csrf(inst, "/settings"), "current_password": PASSWORD,
            "new_password": "a new password", "confirm_password": "a new password"}
    assert (await inst.client.post("/settings/password", form=form)).status_code == 302
    assert (await inst.client.get("/home")).status_code == 200        # this session goes on
    assert (await other.get("/home")).status_code == 302              # the other one ended
    form["csrf_token"] = await csrf(inst, "/settings")             # the new session has a new token
    wrong = await inst.client.post("/settings/password", form=form)
    assert wrong.status_code == 400 and "current password is wrong" in await wrong.get_data(as_text=True)


async def test_remote_links_are_http_only_and_sign_in_comes_back(app_ctx):
    inst = app_ctx
    _, token = await person(inst)
    status = await api_post(inst, token)
    remote = await Account.create(username="mallory", domain="evil.test", uri="https://evil.test/users/mallory",
                                  url="javascript:alert(1)", display_name="<b>Mallory</b>", inbox="https://evil.test/i",
                                  summary='<p onclick="x()">hi<script>alert(1)</script></p>')
    await Post.create(id=5, uri="https://evil.test/notes/5", url="javascript:alert(2)", account=remote,
                      content="<p>look</p>", visibility="public", remix_of_uri="javascript:alert(3)",
                      published=datetime.now(UTC))
    for path in ("/@mallory@evil.test", "/@mallory@evil.test/5"):
        html = await page(inst, path)
        assert "javascript:" not in html and "<script>alert" not in html and "onclick" not in html, path
        assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
    # signing in comes back to the page that asked for it, query included; never to another site
    wanted = f"/compose?reuse_prompt_of={status['id']}"
    resp = await inst.client.get(wanted)
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    token = CSRF_RE.search(await page(inst, login_url)).group(1)
    done = await inst.client.post("/login", form={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                                  "next": wanted})
    assert done.headers["Location"] == wanted
    assert ">a red fox at dawn</textarea>" in await page(inst, wanted)
    await inst.client.post("/logout", form={"csrf_token": await csrf(inst, "/home")})
    token = await csrf(inst)
    away = await inst.client.post("/login", form={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                                  "next": "//evil.test/phish"})
    assert away.headers["Location"] == "/home"
