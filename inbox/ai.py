"""Parse fedi's AI terms (and Vernissage-style exifData) from remote Notes. Lenient by design:
anything unknown or malformed is dropped, never an error."""

from __future__ import annotations

import math
from typing import Any

from fedi.activitystreams import as_list, get_id

AI_SOURCE_TYPES = {
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic",
    "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia",
}
KNOWN = {"model": "model_name", "modelversion": "model_version", "prompt": "prompt",
         "negativeprompt": "negative_prompt", "seed": "seed", "steps": "steps", "sampler": "sampler",
         "guidancescale": "guidance_scale", "cfgscale": "guidance_scale"}


def _str(value: Any, limit: int = 4000) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**63 else None


def _float(value: Any) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 <= number <= 1000 else None


def _set(out: dict[str, Any], field: str, value: Any) -> None:
    if field in ("seed", "steps"):
        value = _int(value)
    elif field == "guidance_scale":
        value = _float(value)
    else:
        value = _str(value, 255 if field in ("model_name", "model_version", "sampler") else 4000)
    if value is not None and out.get(field) is None:
        out[field] = value


def _pairs(items: Any) -> list[tuple[str, str]]:
    out = []
    for item in as_list(items):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item.get("value") is not None:
            out.append((item["name"].strip()[:100], str(item["value"])[:1000]))
    return out[:50]


def generation_fields(note: dict[str, Any]) -> dict[str, Any]:
    """Post fields from a remote Note: label, generator, prompt and parameters, remix link."""
    out: dict[str, Any] = {}
    raw_generator = note.get("generator")
    generator: dict[str, Any] = raw_generator if isinstance(raw_generator, dict) else {}
    _set(out, "model_name", generator.get("name"))
    _set(out, "model_version", generator.get("version"))
    for key, field in (("prompt", "prompt"), ("negativePrompt", "negative_prompt"), ("seed", "seed"),
                       ("steps", "steps"), ("sampler", "sampler"), ("guidanceScale", "guidance_scale")):
        _set(out, field, note.get(key))
    extra: list[dict[str, str]] = []
    source_ai = False
    for att in as_list(note.get("attachment")):
        if not isinstance(att, dict):
            continue
        source_ai |= get_id(att.get("digitalSourceType")) in AI_SOURCE_TYPES
        for name, value in _pairs(att.get("exifData")):
            known = KNOWN.get(name.replace("_", "").replace(" ", "").lower())
            if known:
                _set(out, known, value)
            elif not any(p["name"] == name for p in extra):
                extra.append({"name": name, "value": value})
    out["parameters"] = extra[:30]
    out["prompt_private"] = note.get("promptPrivate") is True
    out["ai_generated"] = note.get("aiGenerated") is True or source_ai or bool(out.get("model_name")
                                                                                and out.get("prompt"))
    out["remix_allowed"] = note.get("remixAllowed") is not False
    out["remix_of_uri"] = remix_parent(note)
    return out


def remix_parent(note: dict[str, Any]) -> str | None:
    based = get_id(note.get("isBasedOn"))
    if based:
        return based
    for tag in as_list(note.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Link" and tag.get("rel") == "isBasedOn":
            return get_id(tag.get("href"))
    return None


def media_fields(att: dict[str, Any]) -> dict[str, Any]:
    license_ = get_id(att.get("license"))
    training = att.get("aiTrainingAllowed")
    source = get_id(att.get("digitalSourceType"))
    return {"license": license_[:255] if license_ else None,
            "ai_training": training if isinstance(training, bool) else None,
            "digital_source_type": source[:255] if source and source.startswith("http") else None}
