"""JSON Schemas for the ActivityPub documents fedi accepts and emits, and the JSON-LD contexts it serves.

Layout (all shipped as package data)::

    schemas/inbound/<kind>.json    loose: what fedi needs from Mastodon, Pixelfed, GoToSocial, Misskey, ...
    schemas/outbound/<kind>.json   strict: what fedi itself must produce
    schemas/<direction>/_defs.json shared definitions, referenced as "_defs.json#/$defs/..."
    schemas/context/<name>.jsonld  JSON-LD contexts (W3C ActivityStreams, W3ID security v1, fedi's own terms)

Every schema has an ``$id`` under ``https://w3id.org/fedi/schemas/<direction>/``; the files of one
direction form a ``referencing`` registry, so ``{"$ref": "note.json"}`` in ``outbound/create.json``
resolves locally and nothing is ever fetched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

__all__ = ["DIRECTIONS", "SchemaError", "context", "kinds", "known_inbound", "validate"]

DIRECTIONS = ("inbound", "outbound")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_MAX_MESSAGE = 300


class SchemaError(Exception):
    """A document does not match its schema.

    The message names the failing location as a JSONPath-like string (``$.object.id``) and the rule
    that failed; it never quotes values from the document, so it is safe to return to a client.
    """

    def __init__(self, message: str, *, path: str = "$", direction: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.direction = direction
        self.kind = kind


def _dir(direction: str) -> Any:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    return resources.files(__name__) / direction


@cache
def kinds(direction: str) -> frozenset[str]:
    """The schema kinds available for a direction, e.g. {"like", "undo", ...} (shared _defs excluded)."""
    out = set()
    for entry in _dir(direction).iterdir():
        name = entry.name
        if name.endswith(".json") and not name.startswith("_"):
            out.add(name[: -len(".json")])
    return frozenset(out)


def known_inbound(kind: str) -> bool:
    """Whether there is an inbound schema for this (lower-case) activity kind."""
    return isinstance(kind, str) and kind in kinds("inbound")


@cache
def _load(direction: str, filename: str) -> dict[str, Any]:
    text = (_dir(direction) / filename).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def _registry(direction: str) -> Registry:
    pairs = []
    for entry in _dir(direction).iterdir():
        if entry.name.endswith(".json"):
            schema = _load(direction, entry.name)
            pairs.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(pairs).crawl()


def _inline(direction: str, node: Any, base: str, seen: tuple[str, ...] = ()) -> Any:
    """The schema with every $ref replaced by what it points to (refs are all local files of one
    direction). jsonschema resolves a $ref through `referencing` on every validation, which was ~60 %
    of the time of validating an inbound Like; an inlined schema validates the same documents."""
    if isinstance(node, list):
        return [_inline(direction, v, base, seen) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(direction, v, base, seen) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return out
    file, _, pointer = ref.partition("#")
    file = file or base
    key = f"{file}#{pointer}"
    if key in seen:
        raise RecursionError(f"recursive $ref {key}")
    target: Any = _load(direction, file)
    for part in filter(None, pointer.split("/")):
        target = target[part]
    target = _inline(direction, target, file, (*seen, key))
    if isinstance(target, dict):
        target = {k: v for k, v in target.items() if k not in ("$id", "$schema")}
    return {"allOf": [target], **out} if out else target


@cache
def _inlined(direction: str, kind: str) -> dict[str, Any] | None:
    """The kind's schema with its $refs inlined (_inline), or None when a $ref is recursive."""
    try:
        return _inline(direction, _load(direction, f"{kind}.json"), f"{kind}.json")  # type: ignore[no-any-return]
    except RecursionError:
        return None


@cache
def _validator(direction: str, kind: str) -> Draft202012Validator:
    schema = _load(direction, f"{kind}.json")
    Draft202012Validator.check_schema(schema)
    inlined = _inlined(direction, kind)
    if inlined is None:
        return Draft202012Validator(schema, registry=_registry(direction))
    return Draft202012Validator(inlined)


@cache
def _compiled(direction: str, kind: str) -> Callable[[Any], Any] | None:
    """The inlined schema compiled to Python by fastjsonschema: a valid document is accepted in ~3 us
    instead of jsonschema's ~65 (an inbound Like, measured here), on every inbox POST. Only the verdict
    is taken from it: a document it refuses goes through jsonschema for the error message, and
    jsonschema's verdict stands. The schemas use no keyword newer than draft 7, which fastjsonschema
    implements; tests/unit/test_fixtures_schemas.py checks the two agree."""
    inlined = _inlined(direction, kind)
    if inlined is None:
        return None
    schema = {k: v for k, v in inlined.items() if k not in ("$schema", "$id")}
    return fastjsonschema.compile(schema, use_default=False, use_formats=False)


def _render_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = re.sub(r"[^\w@:#-]", "?", str(part))[:64]
            out += f".{key}"
    return out


def _type_names(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return " or ".join(str(n) for n in names)


def _describe(error: ValidationError) -> tuple[str, str]:
    path = _render_path(error.absolute_path)
    rule = error.validator
    expected: Any = error.validator_value  # the schema's value for the rule (never unset on a raised error)
    if rule == "required" and isinstance(error.instance, dict):
        missing = [p for p in expected if p not in error.instance]
        name = missing[0] if missing else "?"
        path = f"{path}.{name}"
        text = "is required"
    elif rule == "type":
        text = f"must be {_type_names(expected)}"
    elif rule == "const":
        text = f"must be {json.dumps(expected)}"
    elif rule == "enum":
        text = "must be one of " + ", ".join(json.dumps(v) for v in expected)
    elif rule == "pattern":
        text = f"does not match {expected}"
    elif rule in {"minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"}:
        text = f"violates {rule} {expected}"
    elif rule in {"anyOf", "oneOf"}:
        text = "matches none of the allowed forms"
    else:
        text = f"fails the {rule!s} rule"
    return path, f"{path}: {text}"[:_MAX_MESSAGE]


def validate(direction: str, kind: str, doc: dict[str, Any]) -> None:
    """Check ``doc`` against ``schemas/<direction>/<kind>.json``; raise SchemaError if it does not match.

    ``kind`` is lower-case ("like", "note", "actor"); an unknown kind is a programming error (ValueError).
    """
    if not isinstance(kind, str) or not _NAME.match(kind) or kind not in kinds(direction):
        raise ValueError(f"no {direction} schema named {kind!r}")
    if not isinstance(doc, dict):
        raise SchemaError("$: must be object", path="$", direction=direction, kind=kind)
    fast = _compiled(direction, kind)
    if fast is not None:
        try:
            fast(doc)
            return
        except fastjsonschema.JsonSchemaException:
            pass   # jsonschema says why (or, should the two ever disagree, decides)
    error = best_match(_validator(direction, kind).iter_errors(doc))
    if error is not None:
        path, message = _describe(error)
        raise SchemaError(message, path=path, direction=direction, kind=kind)


@cache
def _context_text(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad context name {name!r}")
    entry = resources.files(__name__) / "context" / f"{name}.jsonld"
    if not entry.is_file():
        raise LookupError(f"no JSON-LD context named {name!r}")
    return entry.read_text(encoding="utf-8")


def context(name: str) -> dict[str, Any]:
    """A fresh copy of ``schemas/context/<name>.jsonld`` (e.g. "activitystreams", "security-v1", "fedi")."""
    return json.loads(_context_text(name))  # type: ignore[no-any-return]
