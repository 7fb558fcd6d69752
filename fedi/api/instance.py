"""GET /api/v1/instance and /api/v2/instance."""

from __future__ import annotations

from quart import Blueprint, Response

from fedi import __version__
from fedi.config import Config
from fedi.models import Account, Post
from fedi.web.common import json_response, st
from outbox.interact import PIN_LIMIT

bp = Blueprint("api_instance", __name__)
LIMITS = {"max_characters": 5000, "max_media_attachments": 10, "characters_reserved_per_url": 23}
MEDIA = {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"],
         "image_size_limit": 16 * 1024 * 1024, "image_matrix_limit": 33_177_600,
         "video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0}


def _ws(cfg: Config) -> str:
    return f"{'wss' if cfg.scheme == 'https' else 'ws'}://{cfg.domain}"


@bp.get("/api/v1/instance")
async def instance_v1() -> Response:
    s = st()
    users = await Account.filter(domain=None, actor_type="Person").count()
    statuses = await Post.filter(local=True, deleted_at=None).count()
    domains = len(set(await Account.filter(domain__not_isnull=True).values_list("domain", flat=True)))
    return json_response({
        "uri": s.cfg.domain, "title": s.cfg.instance_title, "short_description": "AI images, federated",
        "description": "A fedi instance: AI-generated images, federated.", "email": "",
        "version": f"4.3.0 (compatible; fedi {__version__})", "urls": {"streaming_api": _ws(s.cfg)},
        "stats": {"user_count": users, "status_count": statuses, "domain_count": domains},
        "thumbnail": None, "languages": ["en"], "registrations": s.cfg.registrations_open,
        "approval_required": False, "invites_enabled": False,
        "configuration": {"statuses": LIMITS, "media_attachments": MEDIA,
                          "accounts": {"max_featured_tags": 0, "max_pinned_statuses": PIN_LIMIT}},
        "contact_account": None, "rules": [],
    })


@bp.get("/api/v2/instance")
async def instance_v2() -> Response:
    s = st()
    return json_response({
        "domain": s.cfg.domain, "title": s.cfg.instance_title,
        "version": f"4.3.0 (compatible; fedi {__version__})", "source_url": "", "description":
        "A fedi instance: AI-generated images, federated.",
        "usage": {"users": {"active_month": await Account.filter(domain=None, actor_type="Person").count()}},
        "thumbnail": {"url": f"{s.urls.base}/headers/default.png"}, "languages": ["en"],
        "configuration": {"urls": {"streaming": _ws(s.cfg)}, "statuses": LIMITS,
                          "media_attachments": MEDIA,
                          "accounts": {"max_featured_tags": 0, "max_pinned_statuses": PIN_LIMIT},
                          "translation": {"enabled": False}},
        "registrations": {"enabled": s.cfg.registrations_open, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": None}, "rules": [],
    })
