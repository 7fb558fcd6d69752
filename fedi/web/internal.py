"""A hook for the CLI: wake the workers after `fedi post` commits. Guarded by the secret that
`fedi serve` writes (mode 0600) to FEDI_DATA_DIR/serve.json; it only ever causes a queue check."""

from __future__ import annotations

import hmac

from quart import Blueprint, Response, request

from fedi.errors import Forbidden
from fedi.web.common import json_response, st

bp = Blueprint("internal", __name__)


@bp.post("/internal/wake")
async def wake() -> Response:
    s = st()
    secret = getattr(s, "wake_secret", "")
    if not secret or not hmac.compare_digest(request.headers.get("X-Fedi-Wake", ""), secret):
        raise Forbidden("not allowed")
    s.wake_delivery()
    if s.inbox_worker is not None:
        s.inbox_worker.wake()
    return json_response({"ok": True})
