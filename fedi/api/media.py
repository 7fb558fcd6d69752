"""Media: POST /api/v1/media and /api/v2/media, GET and PUT /api/v1/media/:id."""

from __future__ import annotations

from quart import Blueprint, Response, request

from fedi.api.auth import require_account
from fedi.api.serializers import media_json
from fedi.errors import BadRequest, NotFound
from fedi.media import focal_point
from fedi.models import Media
from fedi.uploads import check_license, store_upload
from fedi.web.common import as_bool, json_response, params, st

bp = Blueprint("api_media", __name__)


@bp.post("/api/v1/media")
@bp.post("/api/v2/media")
async def upload() -> Response:
    me = await require_account()
    files = await request.files
    file = files.get("file")
    if file is None:
        raise BadRequest("the multipart field 'file' is required")
    form = await request.form
    training = as_bool(form["ai_training"], "ai_training") if form.get("ai_training") not in (None, "") else None
    media = await store_upload(st(), me, file.read(), str(form.get("description") or ""),
                               form.get("focus"), license=form.get("license"), ai_training=training,
                               claimed=(file.filename, file.content_type))
    return json_response(media_json(st(), media))


async def _own(media_id: str) -> Media:
    me = await require_account()
    try:
        media = await Media.get_or_none(id=int(media_id), account=me)
    except ValueError:
        media = None
    if media is None:
        raise NotFound("Record not found")
    return media


@bp.get("/api/v1/media/<media_id>")
async def get_media(media_id: str) -> Response:
    return json_response(media_json(st(), await _own(media_id)))


@bp.put("/api/v1/media/<media_id>")
async def update_media(media_id: str) -> Response:
    media = await _own(media_id)
    args = await params()
    if "description" in args:
        media.description = str(args["description"] or "")[:1500]
    if "focus" in args:
        media.focus_x, media.focus_y = focal_point(str(args["focus"]))
    if "license" in args:
        media.license = check_license(str(args["license"] or ""))
    if "ai_training" in args:
        media.ai_training = as_bool(args["ai_training"], "ai_training")
    await media.save()
    return json_response(media_json(st(), media))
