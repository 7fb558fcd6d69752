"""The search page (/search?q=), for everyone: people (by part of a name, or a handle name@server, looked
up on its server by WebFinger only for signed-in people, as the API's resolve=true), a hashtag, and a
post by its link. The lookups are the API's (fedi/api/search.py: find_accounts, find_by_url). A hashtag is
offered for "#word" (as the API does), or for a plain word that the latest public posts use."""

from __future__ import annotations

from urllib.parse import quote

from quart import Blueprint, Response, request

from fedi.api.search import find_accounts, find_by_url
from fedi.models import Account, Post
from fedi.text import hashtags, strip_html
from fedi.web.common import st
from fedi.web.pages import View, avatar_src, build_cards, profile_href
from fedi.web.session import current_user, html_errors, render

bp = Blueprint("search", __name__)
html_errors(bp)

LIMIT = 20
TAG_SCAN = 400


def person_view(account: Account) -> View:
    return {"account": account, "href": profile_href(account), "avatar": avatar_src(account),
            "handle": account.acct() if account.domain else f"{account.username}@{st().cfg.domain}",
            "bio": strip_html(account.summary or "")[:200]}


def hashtag_of(q: str) -> str | None:
    """The hashtag a query names: "#owls", or a single word that could be one."""
    name = q.lstrip("#")
    return name.lower() if name and hashtags("#" + name) == [name] else None


async def tag_in_use(name: str) -> bool:
    """Whether one of the latest public posts carries the hashtag (as many as the tag page looks at)."""
    rows = await (Post.filter(deleted_at=None, reblog_of=None, visibility="public").order_by("-id")
                  .limit(TAG_SCAN).values_list("tags", flat=True))
    return any(isinstance(t, dict) and str(t.get("name", "")).lstrip("#").lower() == name
               for tags in rows for t in tags or [])


@bp.get("/search")
async def search_page() -> Response:
    viewer = await current_user()
    q = request.args.get("q", "").strip()[:300]
    accounts: list[Account] = []
    posts: list[Post] = []
    tag = None
    if q.startswith(("http://", "https://")):
        accounts, posts = await find_by_url(q, viewer, resolve=viewer is not None)
    elif q:
        tag = hashtag_of(q)
        if not q.startswith("#"):     # a plain word is offered as a hashtag only when posts use it
            accounts = await find_accounts(q, limit=LIMIT, resolve=viewer is not None)
            tag = tag if tag and await tag_in_use(tag) else None
    people = [person_view(a) for a in accounts
              if not a.gone and not a.suspended and not (a.domain is None and a.actor_type == "Application")]
    remote_handle = "@" in q.lstrip("@") and not q.startswith(("http://", "https://"))
    return await render("search.html", q=q, search_q=q, people=people, cards=await build_cards(posts, viewer),
                        tag={"name": tag, "href": f"/tags/{quote(tag)}"} if tag else None,
                        sign_in_hint=viewer is None and (remote_handle or q.startswith(("http://", "https://"))))
