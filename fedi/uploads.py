"""An uploaded image becomes a Media row: the pipeline runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
import re

from fedi.errors import BadRequest
from fedi.media import focal_point, process_image
from fedi.models import Account, Media
from fedi.provenance import Provenance, read_provenance
from fedi.state import State

MAX_DESCRIPTION = 1500


async def store_upload(state: State, account: Account, data: bytes, description: str = "",
                       focus: str | None = None, *, license: str | None = None,
                       ai_training: bool | None = None) -> Media:
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"the description is longer than {MAX_DESCRIPTION} characters")
    license = check_license(license)
    fx, fy = focal_point(focus)
    image = await asyncio.to_thread(process_image, data, state.cfg.media_dir)
    # Content Credentials live in the original bytes (the display version is re-encoded without them)
    credentials = await asyncio.to_thread(read_provenance, data, "")
    return await Media.create(account=account, file_name=image.file_name, thumb_name=image.thumb_name,
                              content_type=image.content_type, width=image.width, height=image.height,
                              size=image.size, digest=image.digest, blurhash=image.blurhash,
                              description=description, focus_x=fx, focus_y=fy, original_name=image.original_name,
                              license=license, ai_training=ai_training,
                              digital_source_type=credentials.digital_source_type,
                              provenance=provenance_json(credentials))


def provenance_json(p: Provenance) -> dict[str, object]:
    return {"status": p.status, "claim_generator": p.claim_generator, "digital_source_type": p.digital_source_type,
            "issuer": p.issuer, "title": p.title, "trusted": p.trusted, "errors": list(p.errors)}


SPDX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+\-]{1,63}$")


def check_license(value: str | None) -> str | None:
    """A licence is an http(s) URL or an SPDX identifier such as CC-BY-4.0."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.startswith(("https://", "http://")) and len(value) <= 255 and " " not in value:
        return value
    if SPDX_RE.match(value):
        return value
    raise BadRequest("license must be a URL or an SPDX identifier such as CC-BY-4.0")
