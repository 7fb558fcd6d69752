"""AI images as first-class content: metadata in and out, the label and its filter, remixes."""

from __future__ import annotations

from fedi.config import Config
from fedi.models import Follow, Media, Post
from fedi.urls import Urls
from outbox import build
from tests.helpers import person
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM

AS2 = {"Accept": "application/activity+json"}
FULL = {"status": "Owl at dusk", "model": "sdxl", "model_version": "1.0", "prompt": "an owl, oil painting",
        "negative_prompt": "blurry", "seed": "42", "steps": 30, "sampler": "euler_a", "guidance_scale": "7.5",
        "parameters": [{"name": "lora", "value": "owls-v1"}]}


async def test_generation_metadata_through_the_api_and_on_the_wire(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    _, other = await inst.user("bob")
    status = await (await inst.api("POST", "/api/v1/statuses", token, json=FULL)).get_json()
    fedi = status["fedi"]
    assert fedi["ai_generated"] is True
    gen = fedi["generation"]
    assert (gen["model"], gen["prompt"], gen["seed"], gen["steps"], gen["guidance_scale"]) == (
        "sdxl", "an owl, oil painting", 42, 30, 7.5)
    assert gen["parameters"] == [{"name": "lora", "value": "owls-v1"}]
    assert "Made with sdxl" in status["content"] and {"name": "aiart", "url": "https://fedi.test/tags/aiart"} in \
        status["tags"]
    note = await (await inst.client.get(status["uri"], headers=AS2)).get_json()
    assert note["aiGenerated"] is True and note["prompt"] == "an owl, oil painting"
    assert note["generator"]["name"] == "sdxl"
    bad = await inst.api("POST", "/api/v1/statuses", token, json={**FULL, "seed": "lots"})
    assert bad.status_code == 400 and "seed" in (await bad.get_json())["error"]
    bad = await inst.api("POST", "/api/v1/statuses", token, json={**FULL, "guidance_scale": -1})
    assert bad.status_code == 400
    # a private prompt: the author sees it, nobody else, and it never leaves the server
    private = await (await inst.api("POST", "/api/v1/statuses", token,
                                    json={**FULL, "prompt_private": True})).get_json()
    assert private["fedi"]["generation"]["prompt"] == "an owl, oil painting"
    seen = await (await inst.api("GET", f"/api/v1/statuses/{private['id']}", other)).get_json()
    assert seen["fedi"]["generation"]["prompt"] is None and seen["fedi"]["generation"]["seed"] == 42
    wire = await (await inst.client.get(private["uri"], headers=AS2)).get_data()
    assert b"an owl, oil painting" not in wire
    # reuse prompt: the parent's metadata, not its image
    reused = await (await inst.api("POST", "/api/v1/statuses", other,
                                   json={"status": "my take", "reuse_prompt_of": status["id"]})).get_json()
    assert reused["fedi"]["generation"]["prompt"] == "an owl, oil painting"
    assert reused["media_attachments"] == []
    refused = await inst.api("POST", "/api/v1/statuses", other,
                             json={"status": "x", "reuse_prompt_of": private["id"]})
    assert refused.status_code == 422


async def test_remix_notifies_links_and_can_be_refused(app_ctx):
    inst = app_ctx
    _, a_token = await inst.user("alice")
    _, b_token = await inst.user("bob")
    parent = await (await inst.api("POST", "/api/v1/statuses", a_token, json=FULL)).get_json()
    remix = await (await inst.api("POST", "/api/v1/statuses", b_token,
                                  json={"status": "remixed", "remix_of_id": parent["id"], "model": "sdxl"})).get_json()
    assert remix["fedi"]["remix_of"] == parent["uri"]
    notes = await (await inst.api("GET", "/api/v1/notifications", a_token)).get_json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("remix", remix["id"])]
    collection = await (await inst.client.get(parent["uri"] + "/remixes?page=1", headers=AS2)).get_json()
    assert collection["orderedItems"] == [remix["uri"]]
    note = await (await inst.client.get(remix["uri"], headers=AS2)).get_json()
    assert note["isBasedOn"] == parent["uri"]
    closed = await (await inst.api("POST", "/api/v1/statuses", a_token,
                                   json={**FULL, "remix_allowed": False})).get_json()
    assert (await (await inst.client.get(closed["uri"], headers=AS2)).get_json())["remixAllowed"] is False
    refused = await inst.api("POST", "/api/v1/statuses", b_token, json={"status": "x", "remix_of_id": closed["id"]})
    assert refused.status_code == 422 and "remix" in (await refused.get_json())["error"]


async def test_remote_ai_post_round_trips_and_the_filter_applies(app_ctx):
    """A note built the way another fedi instance builds it arrives with every field intact."""
    inst = app_ctx
    alice, token = await inst.user("alice")
    remote_urls = Urls(Config(domain="other.test"))
    author = await inst.remote_actor(person(remote_urls.actor("carol"), "carol"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=author, accepted=True)
    their = Post(id=7, uri=remote_urls.post("carol", 7), url=remote_urls.post_html("carol", 7), account=author,
                 content="<p>Owl</p>", visibility="public", published=author.created_at,
                 to=["https://www.w3.org/ns/activitystreams#Public"], cc=[], tags=[], mentions=[],
                 ai_generated=True, model_name="sdxl", model_version="1.0", prompt="an owl", negative_prompt="blurry",
                 seed=42, steps=30, sampler="euler_a", guidance_scale=7.5,
                 parameters=[{"name": "lora", "value": "owls-v1"}], remix_allowed=False)
    their._saved_in_db = True
    img = Media(id=1, account=author, remote_url="https://other.test/media/owl.webp", content_type="image/webp",
                width=640, height=480, blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj", description="an owl",
                license="CC-BY-4.0", ai_training=False)
    create = build.create(build.note(their, author, [img], remote_urls))
    assert (await inst.deliver(build.with_context(create), author.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    [status] = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    gen = status["fedi"]["generation"]
    assert status["fedi"]["ai_generated"] is True and status["fedi"]["remix_allowed"] is False
    assert (gen["model"], gen["model_version"], gen["prompt"], gen["negative_prompt"], gen["seed"], gen["steps"],
            gen["sampler"], gen["guidance_scale"], gen["parameters"]) == (
        "sdxl", "1.0", "an owl", "blurry", 42, 30, "euler_a", 7.5, [{"name": "lora", "value": "owls-v1"}])
    media = status["media_attachments"][0]["fedi"]
    assert (media["license"], media["ai_training"]) == ("CC-BY-4.0", False)
    assert media["digital_source_type"].endswith("trainedAlgorithmicMedia")
    # the reader's filter: blur, then hide
    await inst.api("PATCH", "/api/v1/accounts/update_credentials", token, form={"fedi_ai_filter": "blur"})
    [blurred] = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    assert blurred["sensitive"] is True and blurred["spoiler_text"] == "AI-generated image"
    # apps that know nothing of fedi apply it as a Mastodon filter ("warn")
    assert blurred["filtered"][0]["filter"]["filter_action"] == "warn"
    assert blurred["filtered"][0]["status_matches"] == [blurred["id"]]
    await inst.api("PATCH", "/api/v1/accounts/update_credentials", token, form={"fedi_ai_filter": "hide"})
    assert await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json() == []
    bad = await inst.api("PATCH", "/api/v1/accounts/update_credentials", token, form={"fedi_ai_filter": "maybe"})
    assert bad.status_code == 400


async def test_malformed_metadata_from_others_is_ignored(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    author = await inst.remote_actor(person("https://odd.test/users/dan", "dan"), ALICE_PUBLIC_PEM)
    await Follow.create(uri=f"{alice.uri}/follows/1", follower=alice, target=author, accepted=True)
    note = {"id": "https://odd.test/notes/1", "type": "Note", "attributedTo": author.uri, "content": "<p>hm</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "aiGenerated": "yes", "seed": "NaN",
            "steps": {"x": 1}, "generator": "not-an-object", "guidanceScale": 1e309,
            "attachment": [{"type": "Image", "mediaType": "image/png", "url": "https://odd.test/a.png",
                            "exifData": [{"name": "Make", "value": "Canon"}, "junk", {"value": "no name"}],
                            "license": 12}]}
    create = {"id": note["id"] + "/activity", "type": "Create", "actor": author.uri, "object": note,
              "to": note["to"]}
    assert (await inst.deliver(create, author.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    [status] = await (await inst.api("GET", "/api/v1/timelines/home", token)).get_json()
    assert status["fedi"]["ai_generated"] is False
    stored = await Post.get(uri=note["id"])
    assert stored.seed is None and stored.steps is None and stored.parameters == [{"name": "Make", "value": "Canon"}]


async def test_remote_remix_of_our_post_is_stored_and_notified(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    parent = await (await inst.api("POST", "/api/v1/statuses", token, json=FULL)).get_json()
    author = await inst.remote_actor(person("https://else.test/users/eve", "eve"), ALICE_PUBLIC_PEM)
    note = {"id": "https://else.test/notes/9", "type": "Note", "attributedTo": author.uri, "content": "<p>mine</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "isBasedOn": parent["uri"]}
    create = {"id": note["id"] + "/activity", "type": "Create", "actor": author.uri, "object": note,
              "to": note["to"]}
    assert (await inst.deliver(create, author.key_id, ALICE_PRIVATE_PEM)).status_code == 202
    notes = await (await inst.api("GET", "/api/v1/notifications", token)).get_json()
    assert [n["type"] for n in notes] == ["remix"]
    collection = await (await inst.client.get(parent["uri"] + "/remixes", headers=AS2)).get_json()
    assert collection["totalItems"] == 1


async def test_ten_images_and_the_line_for_mastodon(app_ctx):
    inst = app_ctx
    alice, token = await inst.user("alice")
    from fedi.uploads import store_upload
    from tests.helpers import png_bytes
    ids = [str((await store_upload(inst.state, alice, png_bytes(40 + i, 30))).id) for i in range(6)]
    status = await (await inst.api("POST", "/api/v1/statuses", token,
                                   json={"status": "six", "media_ids": ids})).get_json()
    assert len(status["media_attachments"]) == 6
    assert "6 images in all" in status["content"]
    too_many = [str((await store_upload(inst.state, alice, png_bytes(90 + i, 30))).id) for i in range(11)]
    bad = await inst.api("POST", "/api/v1/statuses", token, json={"status": "x", "media_ids": too_many})
    assert bad.status_code == 400 and "at most 10" in (await bad.get_json())["error"]
    note = await (await inst.client.get(status["uri"], headers=AS2)).get_json()
    assert len(note["attachment"]) == 6  # all of them federate; Mastodon shows the first 4


async def test_content_credentials_are_read_labelled_and_the_original_served(app_ctx):
    from io import BytesIO

    import pytest
    from quart.datastructures import FileStorage
    provenance = pytest.importorskip("tests.unit.test_provenance")
    from fedi.provenance import PROVENANCE_AVAILABLE
    if not PROVENANCE_AVAILABLE:
        pytest.skip("c2pa-python is not installed")
    inst = app_ctx
    _, token = await inst.user("alice")
    signed = provenance.sign(provenance.encode(provenance.picture((200, 120)), "PNG"), "image/png")
    headers = {"Authorization": f"Bearer {token}"}

    async def upload(data: bytes) -> dict:
        files = {"file": FileStorage(BytesIO(data), filename="x.png", content_type="image/png")}
        resp = await inst.client.post("/api/v2/media", headers=headers, files=files)
        assert resp.status_code == 200
        return await resp.get_json()

    media = await upload(signed)
    creds = media["fedi"]["content_credentials"]
    assert creds["status"] == "verified" and creds["claim_generator"].startswith("fedi-tests")
    assert media["fedi"]["digital_source_type"].endswith("trainedAlgorithmicMedia")
    original = await inst.client.get(creds["original_url"].replace("https://fedi.test", ""))
    assert original.status_code == 200 and await original.get_data() == signed
    # no model or prompt given: the image's own credentials still label the post
    status = await (await inst.api("POST", "/api/v1/statuses", token,
                                   json={"status": "found this", "media_ids": [media["id"]]})).get_json()
    assert status["fedi"]["ai_generated"] is True
    page = await (await inst.client.get(status["uri"], headers={"Accept": "text/html"})).get_data(as_text=True)
    assert "Content Credentials: verified" in page
    plain = await upload(provenance.encode(provenance.picture((200, 120)), "PNG"))
    assert plain["fedi"]["content_credentials"] == {"status": "none", "claim_generator": None, "issuer": None,
                                                    "trusted": False, "errors": [], "original_url": None}
    tampered = await upload(provenance.repaint_png_pixel(signed))
    assert tampered["fedi"]["content_credentials"]["status"] == "invalid"


async def test_generate_posts_an_image_with_its_metadata(app_ctx):
    inst = app_ctx
    _, token = await inst.user("alice")
    resp = await inst.api("POST", "/api/v1/fedi/generate", token,
                          json={"prompt": "a lighthouse at dusk", "seed": 7, "width": 512, "height": 384,
                                "status": "made here"})
    assert resp.status_code == 200, await resp.get_data()
    status = await resp.get_json()
    gen = status["fedi"]["generation"]
    assert (gen["model"], gen["prompt"], gen["seed"]) == ("fedi-procedural-1", "a lighthouse at dusk", 7)
    [media] = status["media_attachments"]
    assert media["meta"]["original"]["width"] == 512 and media["description"].endswith("a lighthouse at dusk")
    assert "Made with fedi-procedural-1" in status["content"]
    bad = await inst.api("POST", "/api/v1/fedi/generate", token, json={"prompt": ""})
    assert bad.status_code == 400 and "prompt" in (await bad.get_json())["error"]


async def test_a_failing_generator_posts_nothing(database_url, tmp_path):
    from aiohttp import web

    from tests.helpers import TestInstance

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "model overloaded", "type": "server_error"}}, status=503)

    app = web.Application()
    app.router.add_post("/v1/images/generations", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with TestInstance(database_url, tmp_path) as inst:
            from dataclasses import replace
            inst.state.cfg = replace(inst.cfg, generator="openai", openai_base_url=f"http://127.0.0.1:{port}/v1",
                                     openai_api_key="sk-test", generation_timeout=5)
            _, token = await inst.user("alice")
            resp = await inst.api("POST", "/api/v1/fedi/generate", token, json={"prompt": "an owl"})
            assert resp.status_code == 502 and "model overloaded" in (await resp.get_json())["error"]
            assert await Post.all().count() == 0 and await Media.all().count() == 0
    finally:
        await runner.cleanup()
