"""Small request/response helpers shared by every blueprint."""

from __future__ import annotations

from typing import Any, cast

import orjson
from quart import Quart, Response, current_app, request

from fedi.errors import BadRequest
from fedi.state import State
from fedi.web.fastpath import serve_cached

AS2 = "application/activity+json"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


class FediApp(Quart):
    state: State

    async def asgi_app(self, scope: Any, receive: Any, send: Any) -> None:
        # Cached discovery documents (WebFinger, actor) are answered before Quart: fedi/web/fastpath.py.
        if scope["type"] == "http" and await serve_cached(self.state, scope, send):
            return
        await super().asgi_app(scope, receive, send)


def st() -> State:
    return cast(FediApp, current_app).state


def json_response(doc: Any, status: int = 200, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> Response:
    """`doc` as JSON; bytes are taken as JSON already serialised."""
    body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    resp = Response(body, status=status, content_type=content_type)
    if headers:
        resp.headers.update(headers)
    return resp


def ap_response(doc: Any, status: int = 200) -> Response:
    resp = json_response(doc, status, AS2)
    resp.headers["Vary"] = "Accept"
    return resp


def wants_activitypub() -> bool:
    accept = request.headers.get("Accept", "")
    return "activity+json" in accept or "ld+json" in accept


TRUE = {"1", "true", "on", "yes", "t"}
FALSE = {"0", "false", "off", "no", "f", ""}


def as_bool(value: Any, name: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadRequest(f"{name} must be a boolean")


async def params() -> dict[str, Any]:
    """Mastodon reads parameters from the query, a form or a JSON body alike; arrays as name[]."""
    out: dict[str, Any] = {}

    def put(key: str, values: list[Any]) -> None:
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).extend(values)
        else:
            out[key] = values[-1]

    for key in request.args:
        put(key, request.args.getlist(key))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            body = await request.get_json(silent=True)
            if body is None and (await request.get_data()):
                raise BadRequest("the request body is not valid JSON")
            if isinstance(body, dict):
                out.update(body)
        else:
            form = await request.form
            for key in form:
                put(key, form.getlist(key))
    return out


def int_param(args: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return max(lo, min(hi, int(raw)))
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be an integer") from exc
