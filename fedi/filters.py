"""Readers' own filters (Mastodon filters v2): which are active for a timeline, and what a status matches.

A keyword matches case-insensitively anywhere in the status's text; `whole_word` adds word boundaries
on the sides where the keyword starts or ends with a letter or digit (as Mastodon does). The text is
the content warning, the text, the image descriptions and the prompt when the reader may see it. A
reader's filters are loaded once per serialised page (one query when there are none), and all their
keywords are compiled into one regular expression that rules out most statuses in a single scan."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from tortoise.expressions import Q

from fedi.models import Filter, FilterKeyword, FilterStatus

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    body = re.escape(keyword)
    if whole_word:
        if re.match(r"\w", keyword):
            body = r"\b" + body
        if re.search(r"\w$", keyword):
            body += r"\b"
    return body


@lru_cache(maxsize=4096)
def keyword_regex(keyword: str, whole_word: bool) -> re.Pattern[str]:
    return re.compile(keyword_pattern(keyword, whole_word), re.IGNORECASE)


@lru_cache(maxsize=256)
def any_keyword_regex(keywords: tuple[tuple[str, bool], ...]) -> re.Pattern[str]:
    return re.compile("|".join(keyword_pattern(k, w) for k, w in keywords), re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    rule: Filter
    keywords: list[str]         # the keywords that matched
    statuses: list[int]         # the status (the one a boost boosts), when the filter lists it


@dataclass(frozen=True)
class ActiveFilters:
    rules: list[Filter]
    keywords: dict[int, list[tuple[str, bool]]]     # filter id -> (keyword, whole_word)
    statuses: dict[int, set[int]]                   # filter id -> post ids
    any_keyword: re.Pattern[str] | None

    def match(self, post_id: int, text: str) -> list[Match]:
        hit_text = self.any_keyword is not None and self.any_keyword.search(text) is not None
        out = []
        for rule in self.rules:
            words = [k for k, w in self.keywords.get(rule.id, []) if keyword_regex(k, w).search(text)] \
                if hit_text else []
            listed = [post_id] if post_id in self.statuses.get(rule.id, ()) else []
            if words or listed:
                out.append(Match(rule, words, listed))
        return out


async def active_filters(account_id: int, context: str) -> ActiveFilters | None:
    """The reader's unexpired filters for `context`, or None when there are none."""
    now = datetime.now(UTC)
    live = Filter.filter(Q(expires_at=None) | Q(expires_at__gt=now), account_id=account_id).order_by("id")
    rules = [f for f in await live if context in (f.context or [])]
    if not rules:
        return None
    ids = [f.id for f in rules]
    keywords: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for fid, word, whole in await FilterKeyword.filter(custom_filter_id__in=ids).order_by("id").values_list(
            "custom_filter_id", "keyword", "whole_word"):
        keywords[fid].append((word, whole))
    statuses: dict[int, set[int]] = defaultdict(set)
    for fid, post_id in await FilterStatus.filter(custom_filter_id__in=ids).values_list("custom_filter_id", "post_id"):
        statuses[fid].add(post_id)
    every = tuple(sorted({kw for words in keywords.values() for kw in words}))
    return ActiveFilters(rules, dict(keywords), dict(statuses), any_keyword_regex(every) if every else None)
