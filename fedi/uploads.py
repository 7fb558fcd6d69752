"""An uploaded image becomes a Media row: the pipeline runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio

from fedi.errors import BadRequest
from fedi.media import focal_point, process_image
from fedi.models import Account, Media
from fedi.state import State

MAX_DESCRIPTION = 1500


async def store_upload(state: State, account: Account, data: bytes, description: str = "",
                       focus: str | None = None) -> Media:
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"the description is longer than {MAX_DESCRIPTION} characters")
    fx, fy = focal_point(focus)
    image = await asyncio.to_thread(process_image, data, state.cfg.media_dir)
    return await Media.create(account=account, file_name=image.file_name, thumb_name=image.thumb_name,
                              content_type=image.content_type, width=image.width, height=image.height,
                              size=image.size, digest=image.digest, blurhash=image.blurhash,
                              description=description, focus_x=fx, focus_y=fy)
