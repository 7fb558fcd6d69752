"""Built-in generation: make an image with the configured backend, then post it with its metadata.

A failed or slow backend raises GenerationError before anything is stored: nothing is half-posted.
"""

from __future__ import annotations

from typing import Any

from fedi.generation import GenerationRequest, generator_from_config
from fedi.generation_meta import Generation
from fedi.models import Account, Post
from fedi.state import State
from fedi.uploads import store_upload
from outbox.publish import publish_post


async def generate_and_post(state: State, author: Account, request: GenerationRequest, *, caption: str = "",
                            visibility: str = "public", prompt_private: bool = False,
                            remix_of: Post | None = None, **post_args: Any) -> Post:
    if state.generator is None:
        state.generator = generator_from_config(state.cfg)
    image = await state.generator.generate(request)
    alt = "AI-generated image" if prompt_private else f"AI-generated image: {request.prompt}"[:1500]
    media = await store_upload(state, author, image.data, alt)
    params = [{"name": k, "value": str(v)} for k, v in image.parameters.items()
              if k not in ("seed", "steps", "sampler", "guidance_scale", "negative_prompt")]
    if image.revised_prompt and image.revised_prompt != request.prompt:
        params.append({"name": "revisedPrompt", "value": image.revised_prompt})
    generation = Generation(model=image.model, prompt=request.prompt, negative_prompt=request.negative_prompt,
                            seed=image.seed, steps=request.steps, sampler=request.sampler,
                            guidance_scale=request.guidance_scale, parameters=params,
                            prompt_private=prompt_private, ai_generated=True)
    return await publish_post(state, author, caption=caption, media=[media], visibility=visibility,
                              generation=generation, remix_of=remix_of, **post_args)
