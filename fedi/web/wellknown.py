"""Discovery: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Blueprint, Response, request

from fedi import SOFTWARE, __version__
from fedi.errors import BadRequest, NotFound
from fedi.models import Account, Post
from fedi.web.common import json_response, st
from fedi.web.fastpath import WEBFINGER_CACHE, account_name

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/webfinger")
async def webfinger() -> Response:
    resource = request.args.get("resource", "").strip()
    if not resource:
        raise BadRequest("the resource parameter is required")
    name = account_name(st(), resource)
    account = await st().local_account(name) if name else None
    if account is None or account.suspended:
        raise NotFound(f"no such account: {resource}")
    return json_response(st().account_doc("webfinger", account, lambda: _jrd(account)),
                         content_type="application/jrd+json",
                         headers={"Access-Control-Allow-Origin": "*", "Cache-Control": WEBFINGER_CACHE})


def _jrd(account: Account) -> dict[str, Any]:
    s = st()
    links = [{"rel": "self", "type": "application/activity+json", "href": account.uri}]
    if account.actor_type == "Person":
        links.insert(0, {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                         "href": s.urls.profile(account.username)})
    return {"subject": f"acct:{account.username}@{s.cfg.domain}", "aliases": [account.uri, account.url],
            "links": links}


@bp.get("/.well-known/host-meta")
async def host_meta() -> Response:
    base = st().urls.base
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
           f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
           "</XRD>\n")
    return Response(xml, content_type="application/xrd+xml; charset=utf-8")


@bp.get("/.well-known/nodeinfo")
async def nodeinfo_links() -> Response:
    base = st().urls.base
    return json_response({"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{base}/nodeinfo/2.0"},
    ]})


@bp.get("/nodeinfo/<version>")
async def nodeinfo(version: str) -> Response:
    if version not in ("2.0", "2.1"):
        raise NotFound("NodeInfo versions 2.0 and 2.1 are served")
    now = datetime.now(UTC)
    people = Account.filter(domain=None, actor_type="Person", suspended=False)
    local_posts = await Post.filter(local=True, deleted_at=None, reblog_of=None).count()
    active_ids = Post.filter(local=True, published__gte=now - timedelta(days=30)).values_list("account_id", flat=True)
    active_half_ids = Post.filter(local=True, published__gte=now - timedelta(days=180)).values_list("account_id",
                                                                                                   flat=True)
    software = {"name": SOFTWARE, "version": __version__}
    doc = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": st().cfg.registrations_open,
        "usage": {"users": {"total": await people.count(),
                            "activeMonth": len(set(await active_ids)),
                            "activeHalfyear": len(set(await active_half_ids))},
                  "localPosts": local_posts},
        "metadata": {"nodeName": st().cfg.instance_title},
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return json_response(doc, content_type=f'application/json; profile="{profile}"')
