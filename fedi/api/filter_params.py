"""Reading and checking the input of the filter endpoints: what is wrong raises 422 (Mastodon's
"Validation failed: ..."), before anything is written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from quart import request

from fedi.errors import BadRequest, NotFound, Unprocessable
from fedi.filters import ACTIONS, CONTEXTS
from fedi.models import Filter, FilterKeyword
from fedi.web.common import as_bool

MAX_FILTERS = 100            # per reader
MAX_KEYWORDS = 200           # per filter
MAX_EXPIRES_IN = 10 * 366 * 86400
ABSENT = object()


def invalid(message: str) -> Unprocessable:
    return Unprocessable(f"Validation failed: {message}")


def boolean(value: Any, name: str) -> bool:
    try:
        return as_bool(value, name)
    except BadRequest as exc:
        raise invalid(exc.message) from exc


def title_of(args: dict[str, Any], default: Any = ABSENT) -> Any:
    value = args.get("title", default)
    if value is ABSENT:
        return ABSENT
    title = str(value or "").strip()
    if not title:
        raise invalid("Title can't be blank")
    if len(title) > 255:
        raise invalid("Title is too long (at most 255 characters)")
    return title


def context_of(args: dict[str, Any], required: bool) -> Any:
    if "context" not in args and not required:
        return ABSENT
    value = args.get("context")
    items = [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]
    if not items:
        raise invalid("Context can't be blank")
    if any(c not in CONTEXTS for c in items):
        raise invalid(f"Context must be among {', '.join(CONTEXTS)}")
    return list(dict.fromkeys(items))


def action_of(args: dict[str, Any], default: Any = ABSENT) -> Any:
    value = args.get("filter_action", default)
    if value is ABSENT:
        return ABSENT
    if value not in ACTIONS:
        raise invalid(f"Filter action must be {', '.join(ACTIONS)}")
    return value


def expires_of(args: dict[str, Any]) -> Any:
    """expires_in seconds -> a time; empty -> never; absent -> unchanged."""
    if "expires_in" not in args:
        return ABSENT
    value = args["expires_in"]
    if value in (None, ""):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError) as exc:
        raise invalid("Expires in must be a number of seconds") from exc
    if not 0 < seconds <= MAX_EXPIRES_IN:
        raise invalid("Expires in must be a positive number of seconds (at most ten years)")
    return datetime.now(UTC) + timedelta(seconds=seconds)


def keyword_of(value: Any) -> str:
    keyword = str(value or "").strip()
    if not keyword:
        raise invalid("Keyword can't be blank")
    if len(keyword) > 512:
        raise invalid("Keyword is too long (at most 512 characters)")
    return keyword


async def nested(args: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Rails' nested attributes: a JSON list (or {"0": {...}}), or form fields name[][field] / name[N][field]."""
    value = args.get(name)
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    if isinstance(value, list):
        if not all(isinstance(v, dict) for v in value):
            raise invalid(f"{name} must be a list of objects")
        return value
    if request.is_json:
        if value is not None:
            raise invalid(f"{name} must be a list of objects")
        return []
    form = await request.form
    pattern = re.compile(rf"^{name}\[(\d*)\]\[(\w+)\]$")
    plain: dict[str, list[str]] = {}
    indexed: dict[str, dict[str, Any]] = {}
    for source in (request.args, form):
        for key in source:
            if m := pattern.match(key):
                if m.group(1):
                    indexed.setdefault(m.group(1), {})[m.group(2)] = source.getlist(key)[-1]
                else:
                    plain.setdefault(m.group(2), []).extend(source.getlist(key))
    size = max((len(v) for v in plain.values()), default=0)
    items = [{field: vals[i] for field, vals in plain.items() if i < len(vals)} for i in range(size)]
    return items + [indexed[k] for k in sorted(indexed, key=int)]


async def keyword_changes(args: dict[str, Any], row: Filter | None) -> tuple[list[dict[str, Any]], set[int]]:
    """keywords_attributes -> (keywords to create or update, keyword ids to destroy), all checked."""
    items = await nested(args, "keywords_attributes")
    existing = {k.id: k for k in await FilterKeyword.filter(custom_filter_id=row.id)} if row is not None else {}
    changes: list[dict[str, Any]] = []
    destroy: set[int] = set()
    for item in items:
        kid = item.get("id")
        if kid not in (None, ""):
            if not str(kid).isdigit() or int(kid) not in existing:
                raise NotFound("Record not found")
            if boolean(item.get("_destroy", False), "_destroy"):
                destroy.add(int(kid))
                continue
            old = existing[int(kid)]
            changes.append({"id": old.id, "keyword": keyword_of(item.get("keyword", old.keyword)),
                            "whole_word": boolean(item.get("whole_word", old.whole_word), "whole_word")})
        elif not boolean(item.get("_destroy", False), "_destroy"):
            changes.append({"id": None, "keyword": keyword_of(item.get("keyword")),
                            "whole_word": boolean(item.get("whole_word", True), "whole_word")})
    if len(existing) - len(destroy) + sum(1 for c in changes if c["id"] is None) > MAX_KEYWORDS:
        raise invalid(f"A filter has at most {MAX_KEYWORDS} keywords")
    return changes, destroy
