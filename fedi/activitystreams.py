"""Helpers for compacted AS2 JSON as it arrives: ids, lists and urls in their many shapes."""

from __future__ import annotations

from typing import Any


def get_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_url(value: Any) -> str | None:
    """The first usable http(s) URL in a url/icon/image field (string, Link, Image or a list)."""
    for item in as_list(value):
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            return item
        if isinstance(item, dict):
            for key in ("href", "url"):
                found = first_url(item.get(key))
                if found:
                    return found
    return None


def types(doc: Any) -> list[str]:
    return [t for t in as_list(doc.get("type") if isinstance(doc, dict) else None) if isinstance(t, str)]
