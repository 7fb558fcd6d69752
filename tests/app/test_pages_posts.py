"""One's own posts on the web (edit with history, delete after a confirmation, both sending what the API
sends), the search page and bookmarks."""

from __future__ import annotations

import orjson
import pytest

from fedi.models import Account, Bookmark, Delivery, Follow, Media, Post, StatusEdit, Tombstone
from tests.app.test_fetch import ActorServer
from tests.app.test_pages import CSRF_RE, api_post, csrf, page, person, sign_in
from tests.helpers import TestInstance
from tests.keys import ALICE_PUBLIC_PEM

REMOTE_INBOX = "https://remote.test/inbox"


async def remote_follower(alice: Account) -> Account:
    """A follower on another server: what alice publishes, edits and deletes is queued for its inbox."""
    felix = await Account.create(username="felix", domain="remote.test", uri="https://remote.test/users/felix",
                                 inbox="https://remote.test/users/felix/inbox", shared_inbox=REMOTE_INBOX)
    await Follow.create(follower=felix, target=alice, accepted=True, uri="https://remote.test/follows/1")
    return felix


async def sent(post_id: int, kind: str) -> list[dict]:
    rows = await Delivery.filter(post_id_ref=post_id, inbox=REMOTE_INBOX)
    return [doc for doc in (orjson.loads(r.body) for r in rows) if doc["type"] == kind]


async def test_edit_own_post_sends_an_update_and_keeps_the_history(app_ctx):
    inst = app_ctx
    alice, token = await person(inst)
    await remote_follower(alice)
    status = await api_post(inst, token)
    post_id = int(status["id"])
    media = await Media.get(post_id=post_id)
    await sign_in(inst)
    html = await page(inst, f"/@alice/{post_id}")
    assert f'href="/posts/{post_id}/edit"' in html and f'href="/posts/{post_id}/delete"' in html
    assert "edited" not in html and "Edit history" not in html
    form = await page(inst, f"/posts/{post_id}/edit")
    assert '<label for="caption">' in form and ">Fox at dawn #aiart</textarea>" in form
    assert f'<label for="alt{media.id}">' in form and ">a fox</textarea>" in form
    token_ = CSRF_RE.search(form).group(1)
    edit = {"csrf_token": token_, "caption": "Fox at dusk #aiart", "spoiler_text": "bright eyes",
            f"alt{media.id}": "A red fox at dusk"}
    # an image without alt text is refused, and nothing changes
    refused = await inst.client.post(f"/posts/{post_id}/edit", form={**edit, f"alt{media.id}": " "})
    assert refused.status_code == 400 and "needs alt text" in await refused.get_data(as_text=True)
    assert (await Post.get(id=post_id)).text == "Fox at dawn #aiart" and not await sent(post_id, "Update")
    resp = await inst.client.post(f"/posts/{post_id}/edit", form=edit)
    assert resp.status_code == 302 and resp.headers["Location"] == f"/@alice/{post_id}"
    post = await Post.get(id=post_id)
    assert post.text == "Fox at dusk #aiart" and post.spoiler_text == "bright eyes" and post.sensitive
    assert post.edited_at is not None and (await Media.get(id=media.id)).description == "A red fox at dusk"
    [update] = await sent(post_id, "Update")
    assert "Fox at dusk" in update["object"]["content"] and update["object"]["summary"] == "bright eyes"
    assert update["object"]["attachment"][0]["name"] == "A red fox at dusk"
    html = await page(inst, f"/@alice/{post_id}")
    for needle in ("Your post is updated.", '<a href="#history">edited', "Edit history", "1 earlier version",
                   "Content warning: bright eyes", 'alt="A red fox at dusk"', "Fox at dawn", "Fox at dusk"):
        assert needle in html, needle
    assert "Image descriptions:" in html and "<li>a fox</li>" in html   # the earlier version's alt text
    history = await (await inst.api("GET", f"/api/v1/statuses/{post_id}/history", token)).get_json()
    assert len(history) == 2 and "Fox at dawn" in history[0]["content"]
    assert [m["description"] for m in history[0]["media_attachments"]] == ["a fox"]
    assert [m["description"] for m in history[1]["media_attachments"]] == ["A red fox at dusk"]
    assert history[0]["media_attachments"][0]["id"] == str(media.id)
    # sending the form unchanged edits nothing
    again = await inst.client.post(f"/posts/{post_id}/edit", form=edit)
    assert again.status_code == 302 and await StatusEdit.filter(post_id=post_id).count() == 1
    assert "Nothing changed." in await page(inst, f"/@alice/{post_id}")
    # an image that never had alt text does not hold back an edit of the caption (an alt text cannot be removed)
    bare = await api_post(inst, token, alt="")
    bare_media = await Media.get(post_id=int(bare["id"]))
    assert "no alt text yet" in await page(inst, f"/posts/{bare['id']}/edit")
    resp = await inst.client.post(f"/posts/{bare['id']}/edit", form={"csrf_token": token_, "caption": "Just a fox",
                                                                    f"alt{bare_media.id}": ""})
    assert resp.status_code == 302 and (await Post.get(id=int(bare["id"]))).text == "Just a fox"
    # the API's PUT takes new alt texts too (media_attributes)
    put = await inst.api("PUT", f"/api/v1/statuses/{post_id}", token, json={
        "status": "Fox at dusk #aiart", "media_attributes": [{"id": str(media.id), "description": "A fox, asleep"}]})
    assert (await put.get_json())["media_attachments"][0]["description"] == "A fox, asleep"
    assert (await Media.get(id=media.id)).description == "A fox, asleep"


async def test_delete_own_post_after_a_confirmation_sends_a_delete(app_ctx):
    inst = app_ctx
    alice, token = await person(inst)
    await remote_follower(alice)
    status = await api_post(inst, token)
    post_id = int(status["id"])
    await sign_in(inst)
    confirm = await page(inst, f"/posts/{post_id}/delete")
    assert "Delete your post?" in confirm and f'action="/posts/{post_id}/delete"' in confirm
    assert 'alt="a fox"' in confirm and f'href="/@alice/{post_id}">Cancel' in confirm
    assert not await Post.filter(id=post_id, deleted_at__not_isnull=True).exists()   # a GET deletes nothing
    forged = await inst.client.post(f"/posts/{post_id}/delete", form={"csrf_token": "forged"})
    assert forged.status_code == 403 and (await Post.get(id=post_id)).deleted_at is None
    resp = await inst.client.post(f"/posts/{post_id}/delete", form={"csrf_token": CSRF_RE.search(confirm).group(1)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/@alice"
    assert (await Post.get(id=post_id)).deleted_at is not None
    assert await Tombstone.exists(uri=status["uri"])
    [delete] = await sent(post_id, "Delete")
    assert delete["object"]["id"] == status["uri"] and delete["actor"] == alice.uri
    assert "Your post is deleted." in await page(inst, "/@alice")
    assert (await inst.client.get(f"/@alice/{post_id}")).status_code == 410
    assert (await inst.client.get(f"/posts/{post_id}/delete")).status_code == 404


async def test_someone_elses_post_cannot_be_edited_or_deleted(app_ctx):
    inst = app_ctx
    _, alice_token = await person(inst)
    bob, _ = await person(inst, "bob")
    public = await api_post(inst, alice_token)
    private = await api_post(inst, alice_token, visibility="private")
    anonymous = inst.app.test_client()
    assert (await anonymous.get(f"/posts/{public['id']}/edit")).headers["Location"].startswith("/login?next=")
    token = CSRF_RE.search(await (await anonymous.get("/login")).get_data(as_text=True)).group(1)
    assert (await anonymous.post(f"/posts/{public['id']}/delete", form={"csrf_token": token})).status_code == 401
    await sign_in(inst, "bob")
    assert f"/posts/{public['id']}/edit" not in await page(inst, f"/@alice/{public['id']}")
    token = await csrf(inst, "/home")
    for path in (f"/posts/{public['id']}/edit", f"/posts/{public['id']}/delete"):
        got = await inst.client.get(path)
        assert got.status_code == 403 and "your own posts" in await got.get_data(as_text=True), path
        posted = await inst.client.post(path, form={"csrf_token": token, "caption": "mine now"})
        assert posted.status_code == 403, path
    for path in (f"/posts/{private['id']}/edit", "/posts/12345/delete"):   # not visible to bob, or not there
        assert (await inst.client.get(path)).status_code == 404, path
        assert (await inst.client.post(path, form={"csrf_token": token})).status_code == 404, path
    assert await Post.filter(deleted_at=None, account__username="alice").count() == 2
    assert (await Post.get(id=int(public["id"]))).text == "Fox at dawn #aiart"
    assert not await Post.filter(account=bob).exists()


async def test_bookmarks(app_ctx):
    inst = app_ctx
    _, alice_token = await person(inst)
    _, bob_token = await person(inst, "bob")
    first = await api_post(inst, alice_token, alt="first fox")
    second = await api_post(inst, alice_token, alt="second fox")
    assert (await inst.client.get("/bookmarks")).headers["Location"].startswith("/login?next=/bookmarks")
    await sign_in(inst, "bob")
    empty = await page(inst, "/bookmarks")
    assert "No bookmarks yet" in empty and '<a href="/bookmarks">Bookmarks</a>' in empty
    html = await page(inst, f"/@alice/{first['id']}")
    assert f'action="/posts/{first["id"]}/bookmark"' in html and "Bookmark</button>" in html
    token = CSRF_RE.search(html).group(1)
    for status in (first, second):
        resp = await inst.client.post(f"/posts/{status['id']}/bookmark", form={"csrf_token": token})
        assert resp.status_code == 302 and resp.headers["Location"] == f"/@alice/{status['id']}"
    again = await inst.client.post(f"/posts/{first['id']}/bookmark", form={"csrf_token": token})
    assert again.status_code == 302 and await Bookmark.filter(account__username="bob").count() == 2
    listed = await page(inst, "/bookmarks")
    assert listed.index('alt="second fox"') < listed.index('alt="first fox"')      # newest bookmark first
    html = await page(inst, f"/@alice/{first['id']}")
    assert f'action="/posts/{first["id"]}/unbookmark"' in html and "Bookmarked<span" in html
    await inst.client.post(f"/posts/{first['id']}/unbookmark", form={"csrf_token": token})
    listed = await page(inst, "/bookmarks")
    assert 'alt="first fox"' not in listed and 'alt="second fox"' in listed
    # the API sees the same bookmarks; alice's do not include bob's
    api = await (await inst.api("GET", "/api/v1/bookmarks", bob_token)).get_json()
    assert [s["id"] for s in api] == [second["id"]]
    await inst.client.post("/logout", form={"csrf_token": token})
    await sign_in(inst)
    assert "No bookmarks yet" in await page(inst, "/bookmarks")
    # a deleted post leaves the list
    await inst.api("DELETE", f"/api/v1/statuses/{second['id']}", alice_token)
    await inst.client.post("/logout", form={"csrf_token": await csrf(inst, "/home")})
    await sign_in(inst, "bob")
    assert "No bookmarks yet" in await page(inst, "/bookmarks")


async def test_search_people_hashtags_and_posts_by_link(app_ctx):
    inst = app_ctx
    _, alice_token = await person(inst)
    bob, _ = await person(inst, "bob")
    bob.display_name, bob.summary = "Bobby <Tables>", "<p>paints <b>owls</b></p>"
    await bob.save()
    await Account.create(username="felix", domain="remote.test", uri="https://remote.test/users/felix",
                         display_name="Felix", inbox="https://remote.test/i")
    public = await api_post(inst, alice_token)
    private = await api_post(inst, alice_token, visibility="private", alt="a secret fox")
    html = await page(inst, "/search")
    assert '<label for="q">' in html and 'role="search"' in html and '<label for="site-search"' in html
    html = await page(inst, "/search?q=bob")
    assert 'href="/@bob"' in html and "@bob@fedi.test" in html and "Bobby &lt;Tables&gt;" in html
    assert "paints owls" in html and "<b>owls" not in html and 'href="/tags/bob"' not in html
    assert 'value="bob"' in html                                       # the header box keeps the query
    assert 'href="/@felix@remote.test"' in await page(inst, "/search?q=felix@remote.test")   # known already
    html = await page(inst, "/search?q=%23AIart")
    assert 'href="/tags/aiart">#aiart</a>' in html and "people-heading" not in html
    assert 'href="/tags/aiart">#aiart</a>' in await page(inst, "/search?q=aiart")      # a word posts use
    assert 'href="/tags/owls">#owls</a>' in await page(inst, "/search?q=%23owls")       # asked for as a tag
    html = await page(inst, f"/search?q={public['url']}")
    assert f'href="/@alice/{public["id"]}"' in html and 'alt="a fox"' in html
    assert f'href="/@alice/{public["id"]}"' in await page(inst, f"/search?q={public['uri']}")
    html = await page(inst, f"/search?q={private['url']}")               # not for anonymous eyes
    assert "a secret fox" not in html and "Nothing found" in html and "Sign in</a> to look up" in html
    api = await (await inst.client.get(f"/api/v2/search?q={private['url']}")).get_json()
    assert api["statuses"] == []                                          # nor through the API
    await sign_in(inst)
    assert "a secret fox" in await page(inst, f"/search?q={private['url']}")
    html = await page(inst, "/search?q=nobody_here")
    assert "Nothing found for “nobody_here”" in html and 'href="/tags/nobody_here"' not in html


@pytest.fixture
async def loopback(database_url, tmp_path):
    async with TestInstance(database_url, tmp_path, "127.0.0.1:9", scheme="http", allow_private=True) as i:
        yield i


async def test_search_resolves_remote_handles_only_for_signed_in_people(loopback):
    inst = loopback
    await person(inst)
    async with ActorServer() as remote:
        doc = remote.publish("rita", ALICE_PUBLIC_PEM)
        host = remote.base.split("//")[1]
        remote.docs["/.well-known/webfinger"] = {"subject": f"acct:rita@{host}", "links": [
            {"rel": "self", "type": "application/activity+json", "href": doc["id"]}]}
        html = await page(inst, f"/search?q=rita@{host}")
        assert "Nothing found" in html and "Sign in</a> to look up" in html and remote.gets == []
        await sign_in(inst)
        html = await page(inst, f"/search?q=@rita@{host}")
        assert f'href="/@rita@{host}"' in html and f"@rita@{host}" in html
        assert [path for path, _ in remote.gets] == ["/.well-known/webfinger", "/users/rita"]
        assert await Account.exists(uri=doc["id"])
