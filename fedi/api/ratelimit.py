"""Rate limits like Mastodon's: 300 API requests per 5 minutes per token and per IP address, 30
media uploads per 30 minutes; X-RateLimit-* headers on every API answer and 429 past the limit.

Counters are fixed windows kept in memory (one `fedi serve` process owns the API); they reset on
restart, which errs on the side of letting people in."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from quart import Quart, Response, g, request

from fedi.web.clientip import client_ip
from fedi.web.common import json_response


@dataclass
class Limit:
    requests: int
    period: float


@dataclass
class Limiter:
    api: Limit = field(default_factory=lambda: Limit(300, 300.0))
    media: Limit = field(default_factory=lambda: Limit(30, 1800.0))
    windows: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)

    def hit(self, kind: str, key: str, limit: Limit) -> tuple[bool, int, float]:
        """Count one request; returns (allowed, remaining, reset time)."""
        now = time.time()
        start, count = self.windows.get((kind, key), (now, 0))
        if now - start >= limit.period:
            start, count = now, 0
        count += 1
        if len(self.windows) > 100_000:
            self.windows.clear()
        self.windows[(kind, key)] = (start, count)
        return count <= limit.requests, max(0, limit.requests - count), start + limit.period


def _token_key() -> str | None:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("access_token")
    return hashlib.sha256(token.encode()).hexdigest() if token else None


API_PREFIXES = ("/api/", "/oauth/")


def api_blueprints(app: Quart) -> set[str]:
    """The blueprints that serve the client API and OAuth (the streaming API is not counted)."""
    names = set()
    for rule in app.url_map.iter_rules():
        streaming = rule.rule.startswith("/api/v1/streaming")
        if rule.rule.startswith(API_PREFIXES) and not streaming and "." in rule.endpoint:
            names.add(rule.endpoint.rsplit(".", 1)[0])
    return names


def install(app: Quart, limiter: Limiter | None = None) -> Limiter:
    """Count requests to the API and OAuth blueprints (call once every blueprint is registered).

    The hooks hang on those blueprints only: discovery, ActivityPub and web pages, the hottest GETs,
    do not pay for them."""
    limiter = limiter or Limiter()

    async def check() -> Response | None:
        if not request.path.startswith(API_PREFIXES):
            return None
        checks = [("ip", client_ip(request), limiter.api)]
        token = _token_key()
        if token:
            checks.append(("token", token, limiter.api))
            if request.method == "POST" and request.path.rstrip("/") in ("/api/v1/media", "/api/v2/media"):
                checks.append(("media", token, limiter.media))
        worst: tuple[bool, int, float, Limit] | None = None
        for kind, key, limit in checks:
            allowed, remaining, reset = limiter.hit(kind, key, limit)
            if worst is None or not allowed or remaining < worst[1]:
                worst = (allowed, remaining, reset, limit)
                if not allowed:
                    break
        assert worst is not None
        g.rate = worst
        if not worst[0]:
            resp = json_response({"error": "Too many requests"}, 429)
            _headers(resp, worst)
            return resp
        return None

    async def headers(resp: Response) -> Response:
        rate = getattr(g, "rate", None)
        if rate is not None and resp.status_code != 429:
            _headers(resp, rate)
        return resp

    for name in api_blueprints(app):
        app.before_request_funcs.setdefault(name, []).append(check)
        app.after_request_funcs.setdefault(name, []).append(headers)
    return limiter


def _headers(resp: Response, rate: tuple[bool, int, float, Limit]) -> None:
    _, remaining, reset, limit = rate
    resp.headers["X-RateLimit-Limit"] = str(limit.requests)
    resp.headers["X-RateLimit-Remaining"] = str(remaining)
    resp.headers["X-RateLimit-Reset"] = datetime.fromtimestamp(reset, UTC).isoformat(timespec="milliseconds")
    if resp.status_code == 429:
        resp.headers["Retry-After"] = str(max(1, int(reset - time.time())))
