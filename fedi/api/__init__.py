"""The Mastodon-compatible client API."""

from __future__ import annotations

from quart import Quart


def register(app: Quart) -> None:
    from fedi.api import (
        accounts,
        compat,
        filters,
        grouped,
        instance,
        media,
        notifications,
        registrations,
        search,
        statuses,
        timelines,
    )

    for module in (accounts, compat, filters, grouped, instance, media, notifications, registrations, search,
                   statuses, timelines):
        app.register_blueprint(module.bp)

    from fedi.api import oauth
    app.register_blueprint(oauth.bp)
