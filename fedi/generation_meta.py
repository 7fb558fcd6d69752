"""Generation metadata of a post: what the API, the CLI and the inbox agree a post may carry."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fedi.errors import BadRequest

MAX_TEXT = 4000
MAX_PARAMS = 30


def _text(value: Any, name: str, limit: int = 255) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return text or None


def _int(value: Any, name: str, lo: int, hi: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number") from exc
    if not lo <= number <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return number


def _float(value: Any, name: str, lo: float, hi: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(str(value))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number") from exc
    if math.isnan(number) or not lo <= number <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return number


@dataclass
class Generation:
    model: str | None = None
    model_version: str | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    sampler: str | None = None
    guidance_scale: float | None = None
    parameters: list[dict[str, str]] = field(default_factory=list)
    prompt_private: bool = False
    ai_generated: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any], *, ai_label: bool | None = None, prompt_private: bool = False) -> Generation:
        """Validate user input (API form/JSON, CLI flags); raises BadRequest with the field's name."""
        params = raw.get("parameters") or []
        if isinstance(params, dict):
            params = [{"name": k, "value": v} for k, v in params.items()]
        if not isinstance(params, list) or len(params) > MAX_PARAMS:
            raise BadRequest(f"parameters must be a list of at most {MAX_PARAMS} name/value pairs")
        pairs = []
        for item in params:
            if not isinstance(item, dict) or not _text(item.get("name"), "parameter name", 100):
                raise BadRequest("each parameter needs a name and a value")
            value = _text(item.get("value"), "parameter value", 1000) or ""
            pairs.append({"name": str(item["name"]).strip(), "value": value})
        gen = cls(model=_text(raw.get("model"), "model"),
                  model_version=_text(raw.get("model_version"), "model_version"),
                  prompt=_text(raw.get("prompt"), "prompt", MAX_TEXT),
                  negative_prompt=_text(raw.get("negative_prompt"), "negative_prompt", MAX_TEXT),
                  seed=_int(raw.get("seed"), "seed", 0, 2**63 - 1), steps=_int(raw.get("steps"), "steps", 1, 10_000),
                  sampler=_text(raw.get("sampler"), "sampler"),
                  guidance_scale=_float(raw.get("guidance_scale"), "guidance_scale", 0.0, 100.0),
                  parameters=pairs, prompt_private=prompt_private)
        described = any([gen.model, gen.prompt, gen.seed is not None, gen.parameters])
        gen.ai_generated = described if ai_label is None else ai_label
        return gen

    def post_fields(self) -> dict[str, Any]:
        return {"ai_generated": self.ai_generated, "model_name": self.model, "model_version": self.model_version,
                "prompt": self.prompt, "negative_prompt": self.negative_prompt, "seed": self.seed,
                "steps": self.steps, "sampler": self.sampler, "guidance_scale": self.guidance_scale,
                "parameters": self.parameters, "prompt_private": self.prompt_private}
