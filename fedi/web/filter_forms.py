"""The Filters section of the settings page: create a keyword filter, delete one (the list and the form are
in settings.html, filled by filtering.filter_section). Input is checked as POST /api/v2/filters checks it
(fedi.api.filters.new_filter); what is wrong shows the page again, with the values sent and the reason,
and stores nothing. Every POST carries the session's CSRF token (checked in session.protect)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, flash, request

from fedi.api.filter_params import invalid
from fedi.api.filters import new_filter
from fedi.errors import FediError, NotFound
from fedi.models import Filter
from fedi.web.forms import go, require_user, settings_page
from fedi.web.session import protect

bp = Blueprint("filter_forms", __name__)
protect(bp)


def _form_values(form: Any) -> dict[str, Any]:
    """The new-filter form as sent, to check and to show again after an error."""
    return {"title": str(form.get("title", ""))[:300], "keywords": str(form.get("keywords", ""))[:20_000],
            "whole_word": form.get("whole_word") == "on", "context": [str(c) for c in form.getlist("context")],
            "filter_action": str(form.get("filter_action", "warn")), "expires_in": str(form.get("expires_in", ""))}


@bp.post("/settings/filters")
async def create_filter() -> Response:
    me = await require_user()
    values = _form_values(await request.form)
    words = [w.strip() for w in values["keywords"].split(",") if w.strip()]
    args = {"title": values["title"], "context": values["context"], "filter_action": values["filter_action"],
            "expires_in": values["expires_in"],
            "keywords_attributes": [{"keyword": w, "whole_word": values["whole_word"]} for w in words]}
    try:
        if not words:
            raise invalid("Keywords can't be blank: enter one or more, separated by commas")
        row = await new_filter(me, args)
    except FediError as exc:
        reason = exc.message.removeprefix("Validation failed: ")
        return await settings_page(me, exc.status, filter_form=values,
                                   filter_error=f"The filter was not saved. {reason.rstrip('.')}.")
    await flash(f"The filter “{row.title}” is saved.")
    return go("/settings#filters")


@bp.post("/settings/filters/<filter_id>/delete")
async def delete_filter(filter_id: str) -> Response:
    me = await require_user()
    row = await Filter.get_or_none(id=int(filter_id), account_id=me.id) \
        if filter_id.isdigit() and len(filter_id) <= 18 else None
    if row is None:
        raise NotFound("There is no such filter.")
    await row.delete()
    await flash(f"The filter “{row.title}” is deleted.")
    return go("/settings#filters")
