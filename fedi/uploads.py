"""An uploaded image becomes a Media row: the pipeline runs in a thread, off the event loop."""

from __future__ import annotations

import asyncio
import re

from fedi.errors import BadRequest
from fedi.media import MediaError, focal_point, process_image
from fedi.models import Account, Media
from fedi.provenance import Provenance, read_provenance
from fedi.state import State

MAX_DESCRIPTION = 1500


async def store_upload(state: State, account: Account, data: bytes, description: str = "",
                       focus: str | None = None, *, license: str | None = None,
                       ai_training: bool | None = None, claimed: tuple[str | None, str | None] = (None, None)) -> Media:
    """Store an uploaded image. claimed = (file name, content type) as the client sent them: the
    bytes decide what the file is, and a file that claims to be something else is refused."""
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"the description is longer than {MAX_DESCRIPTION} characters")
    check_claims(data, *claimed)
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


FORMAT_OF_EXTENSION = {".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".webp": "WEBP",
                       ".gif": "GIF", ".avif": "AVIF", ".heic": "HEIF", ".heif": "HEIF"}
FORMAT_OF_TYPE = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG", "image/png": "PNG",
                  "image/webp": "WEBP", "image/gif": "GIF", "image/avif": "AVIF", "image/heic": "HEIF",
                  "image/heif": "HEIF"}


def check_claims(data: bytes, filename: str | None, content_type: str | None) -> None:
    """Refuse a file whose bytes are not what its name or content type say (an HTML page named
    .png, a PNG sent as image/jpeg). Generic types such as application/octet-stream claim nothing."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    claims = []
    if filename and "." in filename:
        ext = "." + filename.rsplit(".", 1)[1].lower()
        if ext in FORMAT_OF_EXTENSION:
            claims.append((FORMAT_OF_EXTENSION[ext], f"its name ends in {ext}"))
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in FORMAT_OF_TYPE:
        claims.append((FORMAT_OF_TYPE[ctype], f"it was sent as {ctype}"))
    if not claims:
        return
    try:
        with Image.open(BytesIO(data)) as im:
            actual = "JPEG" if im.format == "MPO" else im.format
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MediaError(f"not an image, but {claims[0][1]}") from exc
    for expected, why in claims:
        if actual != expected:
            raise MediaError(f"the file is {actual}, not {expected} as {why}")


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
