"""Real payloads from Mastodon, Pixelfed, GoToSocial and Misskey against fedi's JSON Schemas and contexts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import schemas
from schemas import SchemaError, context, known_inbound, validate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SOFTWARE = ("mastodon", "pixelfed", "gotosocial", "misskey")
SCHEMA_DIR = ROOT / "schemas"
CONTEXT_DIR = SCHEMA_DIR / "context"


def _fixture_files() -> list[Path]:
    return sorted(p for s in SOFTWARE for p in (FIXTURES / s).glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _kind(doc: dict[str, Any]) -> str:
    return str(doc.get("type", "")).lower()


ALL = _fixture_files()
INBOUND = [p for p in ALL if known_inbound(_kind(_load(p)))]
IDS = {p: f"{p.parent.name}/{p.name}" for p in ALL}


# --------------------------------------------------------------------------- the fixtures themselves

def test_there_are_enough_real_fixtures_for_every_server() -> None:
    assert len(ALL) >= 20
    for software in SOFTWARE:
        assert list((FIXTURES / software).glob("*.json")), f"no fixtures for {software}"


def test_the_readme_names_a_source_for_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    missing = [IDS[p] for p in ALL if f"`{IDS[p]}`" not in readme]
    assert not missing, f"tests/fixtures/README.md does not list {missing}"


@pytest.mark.parametrize("path", ALL, ids=[IDS[p] for p in ALL])
def test_every_fixture_is_a_json_object_with_a_type(path: Path) -> None:
    doc = _load(path)
    assert isinstance(doc, dict)
    assert isinstance(doc.get("type"), str)


def test_the_fixtures_cover_every_inbound_kind() -> None:
    covered = {_kind(_load(p)) for p in INBOUND}
    assert covered == set(schemas.kinds("inbound"))


# --------------------------------------------------------------------------- inbound: real payloads pass

@pytest.mark.parametrize("path", INBOUND, ids=[IDS[p] for p in INBOUND])
def test_real_payload_passes_its_inbound_schema(path: Path) -> None:
    doc = _load(path)
    validate("inbound", _kind(doc), doc)


@pytest.mark.parametrize("path", INBOUND, ids=[IDS[p] for p in INBOUND])
def test_validation_does_not_change_the_document(path: Path) -> None:
    doc = _load(path)
    before = copy.deepcopy(doc)
    validate("inbound", _kind(doc), doc)
    assert doc == before


# --------------------------------------------------------------------------- inbound: malformed variants fail

def _variants(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(name, broken document, the path the error must name)."""
    out: list[tuple[str, dict[str, Any], str]] = []
    d = copy.deepcopy(doc)
    d.pop("actor")
    out.append(("missing actor", d, "$.actor"))
    for bad in (42, None, True, ["https://example.com/a"]):
        d = copy.deepcopy(doc)
        d["object"] = bad
        out.append((f"object is {type(bad).__name__}", d, "$.object"))
    d = copy.deepcopy(doc)
    d["object"] = {"type": "Note", "content": "no id here"}
    out.append(("embedded object without id", d, "$.object.id"))
    d = copy.deepcopy(doc)
    d["type"] = "Flag"
    out.append(("wrong type", d, "$.type"))
    d = copy.deepcopy(doc)
    d["actor"] = 7
    out.append(("actor is a number", d, "$.actor"))
    d = copy.deepcopy(doc)
    d["actor"] = {"type": "Person", "name": "no id"}
    out.append(("actor object without id", d, "$.actor.id"))
    d = copy.deepcopy(doc)
    d["actor"] = "not an iri"
    out.append(("actor is not an http(s) IRI", d, "$.actor"))
    if "id" in doc:
        d = copy.deepcopy(doc)
        d["id"] = 12345
        out.append(("id is not a string", d, "$.id"))
    return out


MALFORMED = [
    (path, name, broken, where)
    for path in INBOUND
    for name, broken, where in _variants(_load(path))
]


@pytest.mark.parametrize(("path", "name", "broken", "where"), MALFORMED,
                         ids=[f"{IDS[p]}: {n}" for p, n, _, _ in MALFORMED])
def test_malformed_variant_fails_naming_the_path(
    path: Path, name: str, broken: dict[str, Any], where: str
) -> None:
    kind = _kind(_load(path))
    with pytest.raises(SchemaError) as info:
        validate("inbound", kind, broken)
    assert info.value.path == where, str(info.value)
    assert str(info.value).startswith(where + ":")
    assert info.value.direction == "inbound"
    assert info.value.kind == kind


@pytest.mark.parametrize("kind", ["follow", "like", "announce", "create", "update", "block"])
def test_activities_fedi_stores_need_an_id(kind: str) -> None:
    doc = next(_load(p) for p in INBOUND if _kind(_load(p)) == kind)
    doc.pop("id")
    with pytest.raises(SchemaError) as info:
        validate("inbound", kind, doc)
    assert info.value.path == "$.id"


@pytest.mark.parametrize("kind", ["undo", "delete", "accept", "reject"])
def test_activities_that_only_point_at_state_may_omit_their_id(kind: str) -> None:
    doc = next(_load(p) for p in INBOUND if _kind(_load(p)) == kind)
    doc.pop("id", None)
    validate("inbound", kind, doc)


def test_like_needs_id_type_actor_and_object() -> None:
    ok = {"id": "https://a.example/likes/1", "type": "Like", "actor": "https://a.example/u/1",
          "object": "https://b.example/p/1"}
    validate("inbound", "like", ok)
    for key in ("id", "type", "actor", "object"):
        broken = {k: v for k, v in ok.items() if k != key}
        with pytest.raises(SchemaError) as info:
            validate("inbound", "like", broken)
        assert info.value.path == f"$.{key}"


def test_create_needs_an_embedded_object_with_type_and_id() -> None:
    doc = _load(FIXTURES / "mastodon" / "create_note_reply_mention.json")
    bare = copy.deepcopy(doc)
    bare["object"] = doc["object"]["id"]
    with pytest.raises(SchemaError) as info:
        validate("inbound", "create", bare)
    assert info.value.path == "$.object"
    for key in ("id", "type"):
        broken = copy.deepcopy(doc)
        del broken["object"][key]
        with pytest.raises(SchemaError) as info:
            validate("inbound", "create", broken)
        assert info.value.path == f"$.object.{key}"


def test_context_may_be_string_array_or_object_but_not_a_number() -> None:
    doc = _load(FIXTURES / "mastodon" / "like.json")
    for ctx in ("https://www.w3.org/ns/activitystreams",
                ["https://www.w3.org/ns/activitystreams", {"x": "y"}],
                {"@vocab": "https://www.w3.org/ns/activitystreams#"}):
        validate("inbound", "like", {**doc, "@context": ctx})
    with pytest.raises(SchemaError):
        validate("inbound", "like", {**doc, "@context": 3})


def test_error_messages_do_not_echo_the_document() -> None:
    doc = _load(FIXTURES / "misskey" / "like_custom_emoji_reaction.json")
    doc["actor"] = "<script>alert(1)</script>"
    with pytest.raises(SchemaError) as info:
        validate("inbound", "like", doc)
    assert "<script>" not in str(info.value)
    assert len(str(info.value)) <= 300


def test_a_non_object_document_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        validate("inbound", "like", ["not", "an", "object"])  # type: ignore[arg-type]


def test_unknown_kinds_and_directions() -> None:
    assert known_inbound("like")
    assert not known_inbound("flag")
    assert not known_inbound("_defs")
    assert not known_inbound("../outbound/note")
    with pytest.raises(ValueError):
        validate("inbound", "flag", {})
    with pytest.raises(ValueError):
        validate("sideways", "like", {})
    with pytest.raises(ValueError):
        validate("inbound", "../outbound/note", {})


# --------------------------------------------------------------------------- the schema files

SCHEMA_FILES = [p for d in ("inbound", "outbound") for p in sorted((SCHEMA_DIR / d).glob("*.json"))]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[f"{p.parent.name}/{p.name}" for p in SCHEMA_FILES])
def test_schema_files_are_valid_draft_2020_12(path: Path) -> None:
    schema = _load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://w3id.org/fedi/schemas/{path.parent.name}/{path.name}"
    Draft202012Validator.check_schema(schema)


def test_the_required_schema_kinds_exist() -> None:
    assert schemas.kinds("inbound") == {
        "follow", "undo", "like", "announce", "create", "update", "delete", "accept", "reject", "block"}
    assert schemas.kinds("outbound") == {
        "note", "actor", "create", "update", "delete", "follow", "accept", "reject", "undo", "like",
        "announce", "add", "remove"}


# --------------------------------------------------------------------------- outbound: strict

ALICE = "https://fedi.example/users/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def _note() -> dict[str, Any]:
    return {
        "id": f"{ALICE}/statuses/1",
        "type": "Note",
        "attributedTo": ALICE,
        "content": "<p>a lighthouse at dusk <a href=\"https://fedi.example/tags/sdxl\">#sdxl</a></p>",
        "published": "2024-05-01T12:00:00Z",
        "url": "https://fedi.example/@alice/1",
        "to": [PUBLIC],
        "cc": [f"{ALICE}/followers"],
        "sensitive": False,
        "summary": None,
        "inReplyTo": None,
        "attachment": [{
            "type": "Image",
            "mediaType": "image/webp",
            "url": "https://fedi.example/media/1.webp",
            "width": 1024,
            "height": 768,
            "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            "name": "a lighthouse at dusk",
            "summary": "a lighthouse at dusk",
            "focalPoint": [0.0, -0.25],
        }],
        "tag": [{"type": "Hashtag", "href": "https://fedi.example/tags/sdxl", "name": "#sdxl"},
                {"type": "Mention", "href": "https://m.example/users/bob", "name": "@bob@m.example"}],
        "replies": f"{ALICE}/statuses/1/replies",
        "prompt": "a lighthouse at dusk",
        "seed": 42,
        "steps": 30,
        "guidanceScale": 7.5,
        "aiGenerated": True,
    }


def _actor() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": ALICE,
        "type": "Person",
        "preferredUsername": "alice",
        "name": "Alice",
        "summary": "",
        "url": "https://fedi.example/@alice",
        "inbox": f"{ALICE}/inbox",
        "outbox": f"{ALICE}/outbox",
        "followers": f"{ALICE}/followers",
        "following": f"{ALICE}/following",
        "featured": f"{ALICE}/collections/featured",
        "endpoints": {"sharedInbox": "https://fedi.example/inbox"},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": "2024-01-01T00:00:00Z",
        "publicKey": {"id": f"{ALICE}#main-key", "owner": ALICE,
                      "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----\n"},
    }


def test_outbound_note_and_actor_pass() -> None:
    validate("outbound", "note", _note())
    validate("outbound", "actor", _actor())
    validate("outbound", "actor", {**_actor(), "type": "Application"})


@pytest.mark.parametrize(("change", "where"), [
    (lambda n: n["attachment"][0].pop("blurhash"), "$.attachment[0].blurhash"),
    (lambda n: n["attachment"][0].pop("width"), "$.attachment[0].width"),
    (lambda n: n["attachment"][0].pop("summary"), "$.attachment[0].summary"),
    (lambda n: n["attachment"][0].update(type="Document"), "$.attachment[0].type"),
    (lambda n: n["attachment"][0].update(mediaType="video/mp4"), "$.attachment[0].mediaType"),
    (lambda n: n["attachment"][0].update(focalPoint=[0.0, 2.0]), "$.attachment[0].focalPoint[1]"),
    (lambda n: n["attachment"][0].update(focalPoint=[0.0]), "$.attachment[0].focalPoint"),
    (lambda n: n.update(attachment={"type": "Image"}), "$.attachment"),
    (lambda n: n.pop("cc"), "$.cc"),
    (lambda n: n.pop("published"), "$.published"),
    (lambda n: n.update(published="yesterday"), "$.published"),
    (lambda n: n.update(sensitive="no"), "$.sensitive"),
    (lambda n: n.update(tag=[{"type": "Hashtag", "href": "https://fedi.example/tags/x"}]), "$.tag[0].name"),
    (lambda n: n.update(tag=[{"type": "Emoji", "href": "https://fedi.example/e", "name": ":x:"}]),
     "$.tag[0].type"),
    (lambda n: n.update(seed="42"), "$.seed"),
])
def test_outbound_note_is_strict(change: Any, where: str) -> None:
    note = _note()
    change(note)
    with pytest.raises(SchemaError) as info:
        validate("outbound", "note", note)
    assert info.value.path == where, str(info.value)


@pytest.mark.parametrize("key", ["followers", "featured", "publicKey", "discoverable", "published", "summary",
                                 "endpoints", "manuallyApprovesFollowers"])
def test_outbound_actor_requires(key: str) -> None:
    actor = _actor()
    del actor[key]
    with pytest.raises(SchemaError) as info:
        validate("outbound", "actor", actor)
    assert info.value.path == f"$.{key}"


def test_outbound_actor_key_and_shared_inbox_are_checked() -> None:
    actor = _actor()
    actor["publicKey"]["publicKeyPem"] = "ssh-rsa AAAA"
    with pytest.raises(SchemaError) as info:
        validate("outbound", "actor", actor)
    assert info.value.path == "$.publicKey.publicKeyPem"
    actor = _actor()
    actor["endpoints"] = {}
    with pytest.raises(SchemaError) as info:
        validate("outbound", "actor", actor)
    assert info.value.path == "$.endpoints.sharedInbox"
    with pytest.raises(SchemaError):
        validate("outbound", "actor", {**_actor(), "type": "Service"})


def _activities() -> dict[str, dict[str, Any]]:
    note = _note()
    follow = {"id": "https://m.example/f/1", "type": "Follow", "actor": "https://m.example/users/bob",
              "object": ALICE}
    like = {"id": f"{ALICE}/likes/1", "type": "Like", "actor": ALICE, "object": "https://m.example/s/1"}
    return {
        "create": {"id": f"{note['id']}/activity", "type": "Create", "actor": ALICE, "object": note,
                   "to": note["to"], "cc": note["cc"], "published": note["published"]},
        "update": {"id": f"{note['id']}#updates/1", "type": "Update", "actor": ALICE, "object": note,
                   "to": note["to"], "cc": note["cc"]},
        "delete": {"id": f"{note['id']}#delete", "type": "Delete", "actor": ALICE,
                   "object": {"id": note["id"], "type": "Tombstone"}, "to": note["to"], "cc": note["cc"]},
        "follow": {"id": f"{ALICE}/follows/1", "type": "Follow", "actor": ALICE, "object": "https://m.example/users/bob"},
        "accept": {"id": f"{ALICE}/accepts/1", "type": "Accept", "actor": ALICE, "object": follow},
        "reject": {"id": f"{ALICE}/rejects/1", "type": "Reject", "actor": ALICE, "object": follow},
        "like": like,
        "undo": {"id": f"{like['id']}/undo", "type": "Undo", "actor": ALICE, "object": like},
        "announce": {"id": f"{ALICE}/statuses/2/activity", "type": "Announce", "actor": ALICE,
                     "object": "https://m.example/s/1", "to": [PUBLIC], "cc": [f"{ALICE}/followers"],
                     "published": "2024-05-01T12:00:00Z"},
    }


@pytest.mark.parametrize("kind", sorted(_activities()))
def test_outbound_activities_pass_and_are_strict(kind: str) -> None:
    doc = _activities()[kind]
    validate("outbound", kind, doc)
    validate("outbound", kind, {"@context": "https://www.w3.org/ns/activitystreams", **doc})
    for key in ("id", "type", "actor", "object"):
        broken = {k: v for k, v in doc.items() if k != key}
        with pytest.raises(SchemaError):
            validate("outbound", kind, broken)
    with pytest.raises(SchemaError):
        validate("outbound", kind, {**doc, "actor": {"id": ALICE}})


def test_outbound_update_carries_a_full_note_or_actor() -> None:
    doc = _activities()["update"]
    validate("outbound", "update", {**doc, "object": _actor()})
    broken = copy.deepcopy(doc)
    del broken["object"]["attachment"][0]["blurhash"]
    with pytest.raises(SchemaError):
        validate("outbound", "update", broken)


def test_outbound_create_embeds_a_valid_note() -> None:
    doc = _activities()["create"]
    doc["object"]["attachment"][0]["mediaType"] = "text/html"
    with pytest.raises(SchemaError) as info:
        validate("outbound", "create", doc)
    assert info.value.path == "$.object.attachment[0].mediaType"


# --------------------------------------------------------------------------- JSON-LD contexts

CONTEXT_FILES = sorted(CONTEXT_DIR.glob("*.jsonld"))


def test_the_three_contexts_exist() -> None:
    assert {p.stem for p in CONTEXT_FILES} >= {"activitystreams", "security-v1", "fedi"}


@pytest.mark.parametrize("path", CONTEXT_FILES, ids=[p.name for p in CONTEXT_FILES])
def test_every_context_file_is_json_with_a_context_key(path: Path) -> None:
    doc = _load(path)
    assert isinstance(doc, dict)
    assert isinstance(doc["@context"], dict)
    assert context(path.stem) == doc


def test_context_returns_a_fresh_copy_and_rejects_bad_names() -> None:
    first = context("fedi")
    first["@context"].clear()
    assert context("fedi")["@context"]
    with pytest.raises(LookupError):
        context("nope")
    with pytest.raises(ValueError):
        context("../inbound/like")


def test_w3c_contexts_define_what_fedi_relies_on() -> None:
    as_ctx = context("activitystreams")["@context"]
    assert as_ctx["as"] == "https://www.w3.org/ns/activitystreams#"
    for term in ("Note", "Image", "Create", "Like", "Announce", "Follow", "Undo", "Tombstone", "sharedInbox"):
        assert term in as_ctx
    sec = context("security-v1")["@context"]
    assert sec["sec"] == "https://w3id.org/security#"
    assert sec["publicKeyPem"] == "sec:publicKeyPem"
    assert sec["owner"] == {"@id": "sec:owner", "@type": "@id"}


def test_fedi_context_terms() -> None:
    ctx = context("fedi")["@context"]
    ns = "https://w3id.org/fedi/ns#"
    assert ctx["fedi"] == ns
    assert "fedi.example" not in json.dumps(ctx)

    def expand(term: str) -> str:
        value = ctx[term]
        iri = value["@id"] if isinstance(value, dict) else value
        prefix, _, rest = iri.partition(":")
        return ctx[prefix] + rest if prefix in ctx and not rest.startswith("//") else iri

    for term in ("prompt", "negativePrompt", "seed", "steps", "sampler", "guidanceScale", "aiGenerated",
                 "promptPrivate", "remixes", "remixAllowed"):
        assert expand(term) == ns + term, term
    toot = "http://joinmastodon.org/ns#"
    for term in ("blurhash", "focalPoint", "discoverable", "featured"):
        assert expand(term) == toot + term, term
    assert ctx["focalPoint"]["@container"] == "@list"
    assert expand("sensitive") == "https://www.w3.org/ns/activitystreams#sensitive"
    assert expand("manuallyApprovesFollowers") == "https://www.w3.org/ns/activitystreams#manuallyApprovesFollowers"
    assert expand("PropertyValue") == "http://schema.org#PropertyValue"
    assert expand("value") == "http://schema.org#value"
    assert expand("digestMultibase") == "https://w3id.org/security#digestMultibase"
    assert expand("digitalSourceType") == "https://schema.org/digitalSourceType"


def test_context_readme_names_sources() -> None:
    readme = (CONTEXT_DIR / "README.md").read_text(encoding="utf-8")
    for path in CONTEXT_FILES:
        assert path.name in readme


# --------------------------------------------------------------------------- the compiled fast check

def _variants(doc: dict[str, Any]) -> list[Any]:
    """The document and mutations of it: each key removed, each value replaced by other types, and the
    same one level down (the object of an activity)."""
    out: list[Any] = [doc]
    for key in doc:
        out.append({k: v for k, v in doc.items() if k != key})
        for value in (None, 5, "x", "https://elsewhere.test/x", [], {}, ["https://a.test/1"], True):
            out.append({**doc, key: value})
    inner = doc.get("object")
    if isinstance(inner, dict):
        out.extend({**doc, "object": v} for v in _variants_flat(inner))
    return out


def _variants_flat(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in doc:
        out.append({k: v for k, v in doc.items() if k != key})
        for value in (None, 5, "x", [], {}):
            out.append({**doc, key: value})
    return out


def _agree(direction: str, kind: str, docs: list[Any]) -> tuple[int, int]:
    fast = schemas._compiled(direction, kind)
    assert fast is not None, f"{direction}/{kind} has no compiled check"
    reference = schemas._validator(direction, kind)
    valid = invalid = 0
    for doc in docs:
        try:
            fast(copy.deepcopy(doc))
            fast_ok = True
        except Exception:
            fast_ok = False
        ref_ok = reference.is_valid(doc)
        assert fast_ok == ref_ok, (direction, kind, doc)
        valid += ref_ok
        invalid += not ref_ok
    return valid, invalid


def test_the_compiled_check_agrees_with_jsonschema_on_real_payloads_and_their_mutations() -> None:
    totals = [0, 0]
    for path in INBOUND:
        doc = _load(path)
        valid, invalid = _agree("inbound", _kind(doc), _variants(doc))
        totals[0] += valid
        totals[1] += invalid
    for path in sorted((FIXTURES / "golden").glob("*.json")):
        doc = _load(path)
        kind = _kind(doc) if _kind(doc) in schemas.kinds("outbound") else "actor" if _kind(doc) == "person" else None
        if kind is not None:
            valid, invalid = _agree("outbound", kind, _variants(doc))
            totals[0] += valid
            totals[1] += invalid
    # both verdicts were exercised, many times
    assert totals[0] > 100 and totals[1] > 100, totals


def test_the_compiled_check_does_not_change_the_document() -> None:
    doc = _load(FIXTURES / "mastodon" / "like.json")
    before = copy.deepcopy(doc)
    validate("inbound", "like", doc)
    assert doc == before
