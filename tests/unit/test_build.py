"""Builders: whole-document goldens, and every emitted document valid against schemas/outbound."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise

from fedi.config import Config
from fedi.models import Account, Media, Post
from fedi.urls import AS_PUBLIC, Urls
from outbox import build
from schemas import SchemaError, validate

Tortoise.init_models(["fedi.models"], "models")  # relations resolved; no database is opened
GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden"
URLS = Urls(Config(domain="pics.example"))
WHEN = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def alice() -> Account:
    account = Account(id=1, username="alice", domain=None, uri=URLS.actor("alice"), url=URLS.profile("alice"),
                   display_name="Alice", summary="<p>I make foxes</p>", key_id=URLS.key_id("alice"),
                   public_key_pem="-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
                   created_at=WHEN, manually_approves_followers=False, discoverable=True)
    account._saved_in_db = True  # a fixed model, never stored: builders take values, not rows
    return account


def post() -> tuple[Post, list[Media]]:
    a = alice()
    to, cc = build.audience("public", URLS.followers("alice"), ["https://social.example/users/bob"])
    p = Post(id=42, uri=URLS.post("alice", 42), url=URLS.post_html("alice", 42), account=a, local=True,
             text="Fox #aiart", content='<p>Fox <a href="https://pics.example/tags/aiart">#aiart</a></p>',
             visibility="public", sensitive=False, spoiler_text="", in_reply_to_uri=None, published=WHEN,
             tags=[{"type": "Hashtag", "href": URLS.tag("aiart"), "name": "#aiart"}],
             mentions=[{"type": "Mention", "href": "https://social.example/users/bob", "name": "@bob@social.example"}],
             to=to, cc=cc, ai_generated=True, model_name="sdxl", model_version="1.0", prompt="a red fox",
             negative_prompt="blurry", seed=1234, steps=30, sampler="euler_a", guidance_scale=7.5,
             parameters=[{"name": "lora", "value": "foxes-v2"}], prompt_private=False,
             remix_of_uri="https://social.example/users/bob/statuses/9", remix_allowed=True)
    p._saved_in_db = True
    m = Media(id=7, account=a, file_name="ab" * 32 + ".webp", content_type="image/webp", width=640, height=480,
              blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj", description="A red fox in snow", focus_x=0.1, focus_y=-0.2,
              digest="ab" * 32, size=12345, license="CC-BY-4.0", ai_training=False)
    return p, [m]


def golden(name: str, doc: dict) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FEDI_UPDATE_GOLDEN"):
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    assert doc == json.loads(path.read_text()), f"{name} differs from {path}"


def test_note_golden_and_schema():
    p, media = post()
    note = build.note(p, p.account, media, URLS)
    golden("note", note)
    validate("outbound", "note", build.with_context(note))
    image = note["attachment"][0]
    # alt text in both name (Pixelfed, Misskey) and summary (Mastodon, GoToSocial)
    assert image["name"] == image["summary"] == "A red fox in snow"
    assert note["to"] == [AS_PUBLIC] and URLS.followers("alice") in note["cc"]


def test_ai_terms_on_note_and_image():
    p, media = post()
    note = build.note(p, p.account, media, URLS)
    assert note["aiGenerated"] is True
    assert note["generator"] == {"type": "Application", "name": "sdxl", "version": "1.0"}
    assert (note["prompt"], note["seed"], note["guidanceScale"]) == ("a red fox", 1234, 7.5)
    image = note["attachment"][0]
    assert image["digitalSourceType"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    pairs = {pv["name"]: pv["value"] for pv in image["exifData"]}
    assert pairs == {"model": "sdxl", "modelVersion": "1.0", "prompt": "a red fox", "negativePrompt": "blurry",
                     "seed": "1234", "steps": "30", "sampler": "euler_a", "guidanceScale": "7.5", "lora": "foxes-v2"}
    assert (image["license"], image["aiTrainingAllowed"]) == ("CC-BY-4.0", False)
    assert note["isBasedOn"] == "https://social.example/users/bob/statuses/9"
    assert {"type": "Link", "rel": "isBasedOn", "href": note["isBasedOn"]}.items() <= note["tag"][-1].items()
    # every term we emit is defined in the context we send
    terms = build.CONTEXT[2]
    for key in ("aiGenerated", "prompt", "seed", "exifData", "license", "aiTrainingAllowed", "isBasedOn",
                "remixes", "remixAllowed", "digitalSourceType", "digestMultibase"):
        assert key in terms, key


def test_private_prompt_stays_home():
    p, media = post()
    p.prompt_private = True
    note = build.note(p, p.account, media, URLS)
    text = json.dumps(note)
    assert "a red fox" not in text and "blurry" not in text
    assert note["promptPrivate"] is True and note["seed"] == 1234


def test_create_golden_and_schema():
    p, media = post()
    create = build.create(build.note(p, p.account, media, URLS))
    golden("create", create)
    validate("outbound", "create", build.with_context(create))


def test_actor_golden_and_schema():
    doc = build.actor(alice(), URLS)
    golden("actor", doc)
    validate("outbound", "actor", build.with_context(doc))
    assert doc["publicKey"]["id"] == doc["id"] + "#main-key"


@pytest.mark.parametrize("visibility,to,cc", [
    ("public", [AS_PUBLIC], ["F", "M"]),
    ("unlisted", ["F"], [AS_PUBLIC, "M"]),
    ("private", ["F"], ["M"]),
    ("direct", ["M"], []),
])
def test_audience_by_visibility(visibility, to, cc):
    assert build.audience(visibility, "F", ["M"]) == (to, cc)


def test_every_activity_validates():
    a = alice().uri
    bob = "https://social.example/users/bob"
    follow = build.follow(f"{a}/follows/1", a, bob)
    docs = {
        "follow": follow,
        "accept": build.accept(f"{a}/accepts/1", a, follow),
        "reject": build.reject(f"{a}/rejects/1", a, follow),
        "like": build.like(f"{a}/likes/1", a, "https://social.example/notes/1"),
        "announce": build.announce(f"{a}/boosts/1", a, "https://social.example/notes/1", [AS_PUBLIC],
                                   [URLS.followers("alice")], WHEN),
        "undo": build.undo(a, follow),
        "delete": build.delete(URLS.post("alice", 42), a, [AS_PUBLIC], []),
        "update": build.update(build.note(*_note_args()), WHEN),
        "add": build.add(f"{a}#add/1", a, URLS.post("alice", 42), URLS.featured("alice")),
        "remove": build.remove(f"{a}#remove/1", a, URLS.post("alice", 42), URLS.featured("alice")),
    }
    for kind, doc in docs.items():
        validate("outbound", kind, build.with_context(doc))
    golden("undo_follow", docs["undo"])
    # a pin as Mastodon's AddSerializer sends it (type, actor, object by IRI, target), plus an id
    assert docs["add"] == {"id": f"{a}#add/1", "type": "Add", "actor": a, "object": URLS.post("alice", 42),
                           "target": "https://pics.example/users/alice/collections/featured"}
    with pytest.raises(SchemaError):
        validate("outbound", "remove", {**docs["remove"], "target": URLS.followers("alice")})


def _note_args():
    p, media = post()
    return p, p.account, media, URLS


def test_schema_catches_a_broken_note():
    p, media = post()
    note = build.note(p, p.account, media, URLS)
    del note["attributedTo"]
    with pytest.raises(SchemaError):
        validate("outbound", "note", note)
