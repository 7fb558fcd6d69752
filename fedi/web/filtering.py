"""The reader's own filters (Mastodon filters v2) on the web pages, applied as Mastodon's web app applies
them: `hide` leaves the post out, `warn` shows it collapsed behind "Filtered: <title>" (a <details>, no
JavaScript), `blur` blurs its images like a sensitive post's. The matching is fedi/filters.py's, on the
same text as the API's `filtered` (fedi/api/serializers.py); a page loads the filters of its context
once (`page_filters`), and the reader's own posts are never filtered.

Also what the settings page shows of the filters, and the choices of its form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fedi.api.serializers import filter_text
from fedi.filters import ActiveFilters, active_filters
from fedi.models import Account, Filter, FilterKeyword, Post

View = dict[str, Any]

CONTEXT_LABELS = {"home": "Home feed", "public": "Gallery and hashtags", "thread": "A post and its replies",
                  "account": "Profiles", "notifications": "Notifications"}
ACTION_LABELS = {"warn": "Hide behind a warning that names the filter",
                 "blur": "Blur the images, like a sensitive post's",
                 "hide": "Hide completely"}
EXPIRY_CHOICES = [("", "Never"), ("1800", "30 minutes"), ("3600", "1 hour"), ("21600", "6 hours"),
                  ("43200", "12 hours"), ("86400", "1 day"), ("604800", "1 week")]


@dataclass
class Verdict:
    """What the reader's filters say of one post: titles of the filters that matched, by action."""

    hide: list[str] = field(default_factory=list)
    warn: list[str] = field(default_factory=list)
    blur: list[str] = field(default_factory=list)


async def page_filters(viewer: Account | None, context: str) -> ActiveFilters | None:
    """The viewer's unexpired filters for this page's context (none for visitors)."""
    return await active_filters(viewer.id, context) if viewer is not None else None


def verdict(rules: ActiveFilters | None, viewer: Account | None, post: Post, descriptions: list[str]) -> Verdict:
    out = Verdict()
    if rules is None or viewer is None or post.account_id == viewer.id:
        return out
    text = filter_text(post, [{"description": d} for d in descriptions]) if rules.any_keyword is not None else ""
    for match in rules.match(post.id, text):
        getattr(out, match.rule.action if match.rule.action in ("hide", "blur") else "warn").append(match.rule.title)
    return out


def filter_cards(cards: list[View], rules: ActiveFilters | None, viewer: Account | None, *,
                 keep: bool = False) -> list[View]:
    """Cards (pages.build_cards) without those a hide filter matched, the others marked: `filtered` (titles
    of warn filters) and `filter_blur` (titles of blur filters). With `keep` (the post a page is about), a
    hide filter warns instead, as the API keeps a status asked for by id."""
    out = []
    for card in cards:
        found = verdict(rules, viewer, card["post"], [i["media"].description or "" for i in card["images"]])
        if found.hide and not keep:
            continue
        card["filtered"] = found.hide + found.warn
        card["filter_blur"] = found.blur
        out.append(card)
    return out


# -- the settings page ----------------------------------------------------------------------------------------

def _expiry(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "Never expires"
    if value <= now:
        return "Expired"
    return f"Expires {value.day} {value:%b %Y, %H:%M} UTC"


async def filter_list(me: Account) -> list[View]:
    """The reader's filters, oldest first, as the settings page lists them."""
    rows = list(await Filter.filter(account_id=me.id).order_by("id"))
    words: dict[int, list[FilterKeyword]] = {r.id: [] for r in rows}
    for k in await FilterKeyword.filter(custom_filter_id__in=list(words)).order_by("id"):
        words[k.custom_filter_id].append(k)
    now = datetime.now(UTC)
    return [{"id": r.id, "title": r.title, "action": r.action,
             "keywords": [(k.keyword, k.whole_word) for k in words[r.id]],
             "contexts": [CONTEXT_LABELS.get(c, c) for c in r.context or []],
             "expiry": _expiry(r.expires_at, now), "expired": r.expires_at is not None and r.expires_at <= now}
            for r in rows]


async def filter_section(me: Account, filter_form: View | None = None, filter_error: str | None = None) -> View:
    """What settings.html needs for its Filters section: the list, and the new-filter form with the values
    just sent (after an error) or the defaults (every context, warn, never expires)."""
    form = filter_form or {"title": "", "keywords": "", "whole_word": True, "context": list(CONTEXT_LABELS),
                           "filter_action": "warn", "expires_in": ""}
    return {"filters": await filter_list(me), "filter_form": form, "filter_error": filter_error,
            "context_labels": CONTEXT_LABELS, "action_labels": ACTION_LABELS, "expiry_choices": EXPIRY_CHOICES}
