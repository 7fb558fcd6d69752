"""The reader's own filters (Mastodon filters v2) on the web pages: hide leaves a post out, warn folds it
behind "Filtered: <title>", blur veils its images; only for that reader, only in the filter's contexts,
never once it has expired. And the Filters section of the settings page: create, refuse, delete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fedi.models import Account, Filter, FilterKeyword
from tests.app.test_pages import CSRF_RE, PASSWORD, api_post, person

CONTEXTS = ["home", "public", "thread", "account", "notifications"]


async def browser(inst: Any, name: str) -> Any:
    """A test client of its own, signed in as `name` (several readers side by side)."""
    client = inst.app.test_client()
    token = CSRF_RE.search(await (await client.get("/login")).get_data(as_text=True)).group(1)
    resp = await client.post("/login", form={"username": name, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, name
    return client


async def html(client: Any, path: str, status: int = 200) -> str:
    resp = await client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return await resp.get_data(as_text=True)


async def token_of(client: Any, path: str = "/settings") -> str:
    return CSRF_RE.search(await html(client, path)).group(1)


def pairs(form: dict[str, Any]) -> list[tuple[str, str]]:
    """A form with lists as repeated fields (the test client would send a list's repr)."""
    return [(k, item) for k, v in form.items() for item in (v if isinstance(v, list) else [v])]


def card(page: str, post_id: str) -> str | None:
    """The grid card that links to the post, or None."""
    for block in re.findall(r'<li class="card">.*?</li>', page, re.S):
        if f'/{post_id}"' in block:
            return block
    return None


async def make_filter(owner: Account, title: str, words: list[str], action: str, context: list[str],
                      expires_at: datetime | None = None) -> Filter:
    row = await Filter.create(account=owner, title=title, context=context, action=action, expires_at=expires_at)
    for word in words:
        await FilterKeyword.create(custom_filter=row, keyword=word, whole_word=True)
    return row


async def test_hide_removes_a_post_for_that_reader_only_and_in_its_contexts(app_ctx):
    inst = app_ctx
    alice, a = await person(inst)
    bob, b = await person(inst, "bob")
    _, c = await person(inst, "carol")
    await inst.api("POST", f"/api/v1/accounts/{alice.id}/follow", b)
    spoiler = (await api_post(inst, a, status="The finale spoiler #aiart"))["id"]
    owl = (await api_post(inst, a, status="An owl #aiart", alt="an owl"))["id"]
    await make_filter(bob, "Spoilers", ["spoiler"], "hide", ["home", "public", "account"])
    await make_filter(bob, "No owls at home", ["owl"], "hide", ["home"])
    bob_sees, carol_sees, anyone = await browser(inst, "bob"), await browser(inst, "carol"), inst.app.test_client()
    for path in ("/home", "/", "/tags/aiart", "/@alice"):
        page = await html(bob_sees, path)
        assert card(page, spoiler) is None, path
        assert (card(page, owl) is None) == (path == "/home"), path      # that filter is for home only
        assert "Filtered:" not in page, path
        if path != "/home":
            assert card(await html(carol_sees, path), spoiler) is not None, path
            assert card(await html(anyone, path), spoiler) is not None, path
    # the author is never filtered out of their own pages, whatever their filters say
    await make_filter(alice, "Mine", ["spoiler"], "hide", CONTEXTS)
    alice_sees = await browser(inst, "alice")
    assert card(await html(alice_sees, "/@alice"), spoiler) is not None
    assert card(await html(alice_sees, "/"), spoiler) is not None
    # a boost of a matching post is hidden too (matched on what it boosts)
    dave, d = await person(inst, "dave")
    await inst.api("POST", f"/api/v1/accounts/{dave.id}/follow", c)
    await inst.api("POST", f"/api/v1/statuses/{spoiler}/reblog", d)
    assert "Boosted by" in await html(carol_sees, "/home")
    assert card(await html(carol_sees, "/home"), spoiler) is not None
    assert card(await html(bob_sees, "/home"), spoiler) is None


async def test_warn_folds_blur_veils_and_expired_filters_do_nothing(app_ctx):
    inst = app_ctx
    alice, a = await person(inst)
    bob, b = await person(inst, "bob")
    await person(inst, "carol")
    dragons = (await api_post(inst, a, status="Dragons over the bay #aiart"))["id"]
    clown = (await api_post(inst, a, status="Circus #aiart", alt="a sad clown"))["id"]     # in the alt text only
    owl = (await api_post(inst, a, status="An owl #aiart", alt="an owl"))["id"]
    await make_filter(bob, "Dragons <3", ["dragons"], "warn", CONTEXTS)
    await make_filter(bob, "Clowns", ["clown"], "blur", CONTEXTS)
    await make_filter(bob, "Old", ["owl"], "hide", CONTEXTS, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    bob_sees, carol_sees = await browser(inst, "bob"), await browser(inst, "carol")
    for path in ("/", "/tags/aiart", "/@alice"):
        page = await html(bob_sees, path)
        warned = card(page, dragons)
        assert warned is not None and '<details class="filtered">' in warned, path
        assert "Filtered: Dragons &lt;3" in warned and "Show anyway" in warned, path    # the title, escaped
        assert warned.index("<summary>") < warned.index(f'/{dragons}"'), path             # the post is inside
        blurred = card(page, clown)
        assert blurred is not None and "frame veiled" in blurred and "Filtered: Clowns" in blurred, path
        assert "<details" not in blurred and 'alt="a sad clown"' in blurred, path
        assert "veiled" not in card(page, owl) and "Filtered" not in card(page, owl), path   # expired
        other = await html(carol_sees, path)
        assert "Filtered:" not in other and "veiled" not in other, path


async def test_thread_and_notifications(app_ctx):
    inst = app_ctx
    alice, a = await person(inst)
    bob, b = await person(inst, "bob")
    _, c = await person(inst, "carol")
    first = (await api_post(inst, a, status="A spoiler in the title #aiart"))["id"]
    reply = await (await inst.api("POST", "/api/v1/statuses", c, json={
        "status": "Another spoiler, sorry", "in_reply_to_id": first})).get_json()
    calm = await (await inst.api("POST", "/api/v1/statuses", c, json={
        "status": "Lovely colours", "in_reply_to_id": first})).get_json()
    for text in ("@bob dragons ahead", "@bob hello", "@bob spoiler!"):
        resp = await inst.api("POST", "/api/v1/statuses", c, json={"status": text})
        assert resp.status_code == 200
    await make_filter(bob, "Spoilers", ["spoiler"], "hide", ["thread", "notifications"])
    await make_filter(bob, "Dragons", ["dragons"], "warn", ["notifications"])
    bob_sees, carol_sees = await browser(inst, "bob"), await browser(inst, "carol")
    # the post asked for is shown; among its replies, the matching one is left out
    thread = await html(bob_sees, f"/@alice/{first}")
    assert "A spoiler in the title" in thread and "Lovely colours" in thread
    assert f'/@carol/{reply["id"]}"' not in thread and f'/@carol/{calm["id"]}"' in thread
    assert f'/@carol/{reply["id"]}"' in await html(carol_sees, f"/@alice/{first}")
    notes = await html(bob_sees, "/notifications")
    items = re.findall(r'<li class="notification mention">.*?</li>', notes, re.S)
    assert len(items) == 2                                               # "spoiler!" is hidden
    warned = [i for i in items if "Filtered: Dragons" in i]
    assert len(warned) == 1 and '<details class="filtered">' in warned[0] and "mentioned you" in warned[0]
    assert "<details" not in next(i for i in items if i is not warned[0])


async def test_settings_create_list_and_delete_filters(app_ctx):
    inst = app_ctx
    bob, b = await person(inst, "bob")
    await person(inst, "carol")
    bob_sees = await browser(inst, "bob")
    page = await html(bob_sees, "/settings")
    assert '<h2 id="filters-heading">Filters</h2>' in page and "You have no filters yet." in page
    for needle in ('<label for="filter-title">', '<label for="filter-keywords">', 'name="whole_word"',
                   'name="context" value="notifications"', 'name="filter_action" value="blur"',
                   '<option value="1800">30 minutes</option>', '<option value="604800">1 week</option>'):
        assert needle in page, needle
    form = {"csrf_token": await token_of(bob_sees), "title": "TV", "keywords": " spoiler, finale ,,",
            "whole_word": "on", "context": ["home", "public"], "filter_action": "hide", "expires_in": "3600"}
    resp = await bob_sees.post("/settings/filters", form=pairs(form))
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings#filters"
    row = await Filter.get(account=bob)
    assert (row.title, row.context, row.action) == ("TV", ["home", "public"], "hide")
    assert timedelta(minutes=59) < row.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    words = await FilterKeyword.filter(custom_filter=row).order_by("id").values_list("keyword", "whole_word")
    assert [tuple(w) for w in words] == [("spoiler", True), ("finale", True)]
    page = await html(bob_sees, "/settings")
    assert "The filter “TV” is saved." in page and "<h3>TV</h3>" in page
    assert "“spoiler” (whole word), “finale” (whole word)" in page and "Home feed, Gallery and hashtags" in page
    # the API sees the same filter
    listed = await (await inst.api("GET", "/api/v2/filters", b)).get_json()
    assert [(f["title"], f["filter_action"]) for f in listed] == [("TV", "hide")]

    # never expires, not whole words
    form.update(title="Birds", keywords="owl", expires_in="", filter_action="warn", context=["thread"])
    del form["whole_word"]
    assert (await bob_sees.post("/settings/filters", form=pairs(form))).status_code == 302
    birds = await Filter.get(account=bob, title="Birds")
    assert birds.expires_at is None and not (await FilterKeyword.get(custom_filter=birds)).whole_word
    assert "Never expires" in await html(bob_sees, "/settings")


async def test_settings_refuse_bad_filters_and_other_readers_filters(app_ctx):
    inst = app_ctx
    bob, _ = await person(inst, "bob")
    await person(inst, "carol")
    bob_sees = await browser(inst, "bob")
    good = {"csrf_token": await token_of(bob_sees), "title": "TV", "keywords": "spoiler", "whole_word": "on",
            "context": ["home"], "filter_action": "warn", "expires_in": ""}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"title": "  "}, "Title can&#39;t be blank"),
        ({"title": "x" * 256}, "Title is too long"),
        ({"keywords": " , ,"}, "Keywords can&#39;t be blank"),
        ({"keywords": "ok, " + "k" * 513}, "Keyword is too long"),
        ({"context": []}, "Context can&#39;t be blank"),
        ({"context": ["home", "everywhere"]}, "Context must be among"),
        ({"filter_action": "explode"}, "Filter action must be"),
        ({"expires_in": "-5"}, "Expires in must be a positive number of seconds"),
        ({"expires_in": "soon"}, "Expires in must be a number of seconds"),
    ]
    for change, message in bad:
        resp = await bob_sees.post("/settings/filters", form=pairs({**good, **change}))
        body = await resp.get_data(as_text=True)
        assert resp.status_code == 422, change
        assert "The filter was not saved." in body and message in body, change
        assert 'role="alert" id="filter-error"' in body, change
        if "keywords" not in change:
            assert 'value="spoiler"' in body, change             # what was typed is kept
    no_token = await bob_sees.post("/settings/filters", form=pairs({k: v for k, v in good.items()
                                                                              if k != "csrf_token"}))
    assert no_token.status_code == 403
    assert await Filter.all().count() == 0 and await FilterKeyword.all().count() == 0

    assert (await bob_sees.post("/settings/filters", form=pairs(good))).status_code == 302
    row = await Filter.get(account=bob)
    carol_sees = await browser(inst, "carol")
    token = await token_of(carol_sees)
    assert "<h3>TV</h3>" not in await html(carol_sees, "/settings")                    # not listed to others
    for path in (f"/settings/filters/{row.id}/delete", "/settings/filters/abc/delete",
                 "/settings/filters/99999999999999999999999/delete"):
        resp = await carol_sees.post(path, form={"csrf_token": token})
        assert resp.status_code == 404 and "no such filter" in await resp.get_data(as_text=True), path
    assert await Filter.exists(id=row.id)
    assert (await bob_sees.post(f"/settings/filters/{row.id}/delete", form={})).status_code == 403   # no token
    resp = await bob_sees.post(f"/settings/filters/{row.id}/delete", form={"csrf_token": await token_of(bob_sees)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/settings#filters"
    assert not await Filter.exists(id=row.id) and await FilterKeyword.all().count() == 0
    page = await html(bob_sees, "/settings")
    assert "The filter “TV” is deleted." in page and "You have no filters yet." in page


async def test_the_post_page_folds_and_blurs_by_the_thread_filters(app_ctx):
    inst = app_ctx
    _, a = await person(inst)
    bob, _ = await person(inst, "bob")
    _, c = await person(inst, "carol")
    first = (await api_post(inst, a, status="A spoiler in the title #aiart"))["id"]
    dragons = (await api_post(inst, c, status="Dragons reply", alt="a dragon", in_reply_to_id=first))["id"]
    clowns = (await api_post(inst, c, status="Look", alt="a clown", in_reply_to_id=first))["id"]
    await make_filter(bob, "Spoilers", ["spoiler"], "hide", ["thread"])
    await make_filter(bob, "Dragons", ["dragons"], "warn", ["thread"])
    await make_filter(bob, "Clowns", ["clown"], "blur", ["thread"])
    page = await html(await browser(inst, "bob"), f"/@alice/{first}")
    main = page[page.index('<article class="post"'):page.index('<section class="reactions"')]
    assert '<details class="filtered">' in main and "Filtered: Spoilers" in main     # asked for: folded, not hidden
    replies = re.findall(r"<li>.*?</li>", page[page.index('id="replies-heading"'):], re.S)
    warned = next(r for r in replies if f'/{dragons}"' in r)
    assert warned.startswith('<li><details class="filtered">') and "Filtered: Dragons" in warned
    blurred = next(r for r in replies if f'/{clowns}"' in r)
    assert "Filtered: Clowns (show images)" in blurred and 'class="filtered"' not in blurred
    assert "Filtered" not in await html(await browser(inst, "carol"), f"/@alice/{first}")
