"""Image generation backends.

::

    generator = generator_from_config(cfg)          # once, at startup
    image = await generator.generate(GenerationRequest(prompt="a lighthouse at dusk", seed=7))
    image.data            # PNG bytes
    image.model, image.seed, image.parameters, image.revised_prompt

* ``procedural`` (:class:`ProceduralGenerator`): no network, no weights; a deterministic picture
  from the prompt and the seed.  Always available, so a fresh instance can post something.
* ``openai`` (:class:`OpenAIGenerator`): the OpenAI Images API or a self-hosted server that speaks
  it, at ``FEDI_OPENAI_BASE_URL``.

Building a :class:`GenerationRequest` validates it (``BadRequest``, 400); a failing backend raises
:class:`GenerationError` (502, or 504 on timeout) with a message that is safe to show.
"""

from __future__ import annotations

from fedi.config import Config
from fedi.errors import ConfigError
from fedi.generation.base import (
    MAX_PROMPT_LENGTH,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    SIDE_MULTIPLE,
    GeneratedImage,
    GenerationError,
    GenerationRequest,
    Generator,
)
from fedi.generation.openai import OpenAIGenerator
from fedi.generation.procedural import ProceduralGenerator

__all__ = [
    "MAX_PROMPT_LENGTH",
    "MAX_SEED",
    "MAX_SIDE",
    "MIN_SIDE",
    "SIDE_MULTIPLE",
    "GeneratedImage",
    "GenerationError",
    "GenerationRequest",
    "Generator",
    "OpenAIGenerator",
    "ProceduralGenerator",
    "generator_from_config",
]


def generator_from_config(cfg: Config) -> Generator:
    """The backend ``cfg.generator`` names (``procedural`` or ``openai``); ConfigError for anything else."""
    if cfg.generator == "procedural":
        return ProceduralGenerator()
    if cfg.generator == "openai":
        return OpenAIGenerator(cfg.openai_base_url, cfg.openai_api_key, cfg.openai_model, cfg.generation_timeout)
    raise ConfigError(f"FEDI_GENERATOR must be procedural or openai, not {cfg.generator!r}")
