"""`fedi token create`, `fedi post` and `fedi generate`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from fedi.cli.common import CliError, find_post, state_for, wake_server
from fedi.config import Config


def _generation(args: argparse.Namespace) -> Any:
    from fedi.generation_meta import Generation
    params = []
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--param takes NAME=VALUE, not {item!r}")
        params.append({"name": name.strip(), "value": value})
    label = {"auto": None, "yes": True, "no": False}[args.ai_label]
    return Generation.parse({"model": args.model, "model_version": args.model_version, "prompt": args.prompt,
                             "negative_prompt": args.negative_prompt, "seed": args.seed, "steps": args.steps,
                             "sampler": args.sampler, "guidance_scale": args.guidance_scale, "parameters": params},
                            ai_label=label, prompt_private=args.prompt_private)


async def cmd_token_create(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import create_token, local_user
    print(await create_token(await local_user(args.name)))


async def cmd_post(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import instance_actor, local_user
    from fedi.uploads import store_upload
    from outbox.publish import MAX_MEDIA, publish_post
    author = await local_user(args.name)
    if len(args.image) > MAX_MEDIA:
        raise CliError(f"at most {MAX_MEDIA} images a post")
    blobs = []
    for path in args.image:
        try:
            blobs.append(await asyncio.to_thread(Path(path).read_bytes))
        except OSError as exc:
            raise CliError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    generation = _generation(args)
    remix_of = await find_post(args.remix_of) if args.remix_of else None
    state = state_for(cfg)
    state.instance_actor = await instance_actor(state.urls)
    await state.http.start()
    try:
        media = [await store_upload(state, author, data, args.alt, license=args.license,
                                    ai_training=False if args.no_ai_training else None, claimed=(path, None))
                 for path, data in zip(args.image, blobs, strict=True)]
        post = await publish_post(state, author, caption=args.caption, media=media, visibility=args.visibility,
                                  spoiler_text=args.spoiler, generation=generation, remix_of=remix_of,
                                  remix_allowed=False if args.no_remix else None)
    finally:
        await state.http.close()
    wake_server(cfg)
    print(post.uri)


async def cmd_generate(cfg: Config, args: argparse.Namespace) -> None:
    from fedi.accounts import instance_actor, local_user
    from fedi.generation import GenerationRequest
    from outbox.generate import generate_and_post
    author = await local_user(args.name)
    width, sep, height = args.size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise CliError(f"--size takes WIDTHxHEIGHT, not {args.size!r}")
    request = GenerationRequest(prompt=args.prompt, negative_prompt=args.negative_prompt, model=args.model,
                                seed=args.seed, width=int(width), height=int(height))
    state = state_for(cfg)
    state.instance_actor = await instance_actor(state.urls)
    await state.http.start()
    try:
        post = await generate_and_post(state, author, request, caption=args.caption, visibility=args.visibility,
                                       prompt_private=args.prompt_private)
    finally:
        await state.http.close()
    wake_server(cfg)
    print(post.uri)
