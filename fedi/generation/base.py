"""What every image generator takes and gives back, and the one error a generator raises."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from fedi.errors import BadRequest, FediError

__all__ = [
    "MAX_MODEL_LENGTH",
    "MAX_PROMPT_LENGTH",
    "MAX_SAMPLER_LENGTH",
    "MAX_SEED",
    "MAX_SIDE",
    "MAX_STEPS",
    "MIN_SIDE",
    "SIDE_MULTIPLE",
    "GeneratedImage",
    "GenerationError",
    "GenerationRequest",
    "Generator",
]

MAX_PROMPT_LENGTH = 4000
MAX_MODEL_LENGTH = 255          # Post.model_name is a CharField(max_length=255)
MAX_SAMPLER_LENGTH = 255        # Post.sampler likewise
MAX_SEED = 2**32 - 1
MIN_SIDE = 64
MAX_SIDE = 2048
SIDE_MULTIPLE = 8
MAX_STEPS = 1000
MAX_GUIDANCE = 100.0


class GenerationError(FediError):
    """The image backend failed: 502 when it broke or refused, 504 when it did not answer in time.

    The message is safe to show to the client: it never carries the API key.
    """

    status = 502


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class GenerationRequest:
    """One image to make.  Construction validates every field and raises :class:`BadRequest` (400)."""

    prompt: str
    negative_prompt: str | None = None
    model: str | None = None           # overrides the configured model
    seed: int | None = None            # 0 .. 2**32-1; None lets the backend choose (and report) one
    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance_scale: float | None = None
    sampler: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise BadRequest("prompt must not be empty")
        if len(self.prompt) > MAX_PROMPT_LENGTH:
            raise BadRequest(f"prompt is longer than {MAX_PROMPT_LENGTH} characters")
        if self.negative_prompt is not None:
            if not isinstance(self.negative_prompt, str):
                raise BadRequest("negative_prompt must be text")
            if len(self.negative_prompt) > MAX_PROMPT_LENGTH:
                raise BadRequest(f"negative_prompt is longer than {MAX_PROMPT_LENGTH} characters")
        if self.model is not None and (
            not isinstance(self.model, str) or not self.model.strip() or len(self.model) > MAX_MODEL_LENGTH
        ):
            raise BadRequest(f"model must be a name of 1 to {MAX_MODEL_LENGTH} characters")
        if self.seed is not None and (not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED):
            raise BadRequest(f"seed must be an integer from 0 to {MAX_SEED}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if not _is_int(value) or not MIN_SIDE <= value <= MAX_SIDE or value % SIDE_MULTIPLE:
                raise BadRequest(f"{name} must be a multiple of {SIDE_MULTIPLE} from {MIN_SIDE} to {MAX_SIDE}")
        if self.steps is not None and (not _is_int(self.steps) or not 1 <= self.steps <= MAX_STEPS):
            raise BadRequest(f"steps must be an integer from 1 to {MAX_STEPS}")
        if self.guidance_scale is not None:
            value = self.guidance_scale
            if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                    or not 0 <= value <= MAX_GUIDANCE):
                raise BadRequest(f"guidance_scale must be a number from 0 to {MAX_GUIDANCE:g}")
        if self.sampler is not None and (
            not isinstance(self.sampler, str) or not self.sampler.strip() or len(self.sampler) > MAX_SAMPLER_LENGTH
        ):
            raise BadRequest(f"sampler must be a name of 1 to {MAX_SAMPLER_LENGTH} characters")

    @property
    def size(self) -> str:
        """``"WIDTHxHEIGHT"``, as the OpenAI API spells a size."""
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class GeneratedImage:
    """A finished image and how it was made.

    ``parameters`` holds only what the backend actually used (all values as text), ready to be
    stored as generation metadata: e.g. ``size``, ``quality``, ``steps``, ``sampler``,
    ``guidance_scale``, ``negative_prompt`` -- never a request field the backend ignored.
    """

    data: bytes                        # PNG
    model: str                         # the model that made it
    seed: int | None                   # the seed actually used, when the backend reports or accepts one
    parameters: dict[str, str] = field(default_factory=dict)
    revised_prompt: str | None = None  # the prompt the backend really used, if it rewrote ours

    def __repr__(self) -> str:         # never dump megabytes of PNG into a log line
        return (f"GeneratedImage(<{len(self.data)} bytes>, model={self.model!r}, seed={self.seed!r}, "
                f"parameters={self.parameters!r}, revised_prompt={self.revised_prompt!r})")


@runtime_checkable
class Generator(Protocol):
    """An image backend.  ``generate`` raises :class:`GenerationError` when the backend fails."""

    name: str

    async def generate(self, request: GenerationRequest) -> GeneratedImage: ...
