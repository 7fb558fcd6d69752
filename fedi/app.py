"""The app factory: one Quart app, its state, the database and the background workers."""

from __future__ import annotations

import asyncio
import gc
import logging

from quart import Response, request
from werkzeug.exceptions import HTTPException

from fedi import __version__
from fedi.accounts import instance_actor
from fedi.config import Config
from fedi.db import close_db, init_db
from fedi.errors import FediError
from fedi.http import HttpClient
from fedi.state import State
from fedi.urls import Urls
from fedi.web.common import FediApp, json_response

log = logging.getLogger("fedi")


def create_app(cfg: Config, *, workers: bool = True, http: HttpClient | None = None) -> FediApp:
    from fedi.api import register as register_api
    from fedi.web.activitypub import bp as ap_bp
    from fedi.web.compose import bp as compose_bp
    from fedi.web.editing import bp as editing_bp
    from fedi.web.filter_forms import bp as filter_forms_bp
    from fedi.web.forms import bp as forms_bp
    from fedi.web.gallery import bp as gallery_bp
    from fedi.web.internal import bp as internal_bp
    from fedi.web.pages import bp as pages_bp
    from fedi.web.search import bp as search_bp
    from fedi.web.session import configure_sessions
    from fedi.web.signup import bp as signup_bp
    from fedi.web.wellknown import bp as wellknown_bp
    from inbox.batch import LikeBatcher
    from inbox.routes import bp as inbox_bp
    from inbox.worker import InboxWorker
    from outbox.deliver import Deliverer

    app = FediApp("fedi")
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = 40 * 1024 * 1024
    urls = Urls(cfg)
    client = http or HttpClient(cfg, user_agent=f"fedi/{__version__} (+{cfg.base_url}/)")
    state = State(cfg=cfg, urls=urls, http=client)
    app.state = state
    configure_sessions(app, cfg)   # secret key in FEDI_DATA_DIR/secret_key (0600); HttpOnly, SameSite, Secure cookie
    for bp in (wellknown_bp, ap_bp, inbox_bp, pages_bp, gallery_bp, forms_bp, filter_forms_bp, compose_bp, editing_bp,
               search_bp, signup_bp, internal_bp):
        app.register_blueprint(bp)
    register_api(app)
    from fedi.api.extras import bp as extras_bp
    from fedi.api.ratelimit import install as install_rate_limits
    from fedi.api.streaming import bp as streaming_bp
    app.register_blueprint(streaming_bp)
    app.register_blueprint(extras_bp)
    state.limiter = install_rate_limits(app)
    tasks: list[asyncio.Task[None]] = []

    @app.before_serving
    async def startup() -> None:
        await init_db(cfg)
        await client.start()
        state.instance_actor = await instance_actor(urls)
        state.like_batcher = LikeBatcher(state)
        if workers:
            state.deliverer = Deliverer(state)
            state.inbox_worker = InboxWorker(state)
            # Our own tasks, not Quart background tasks: Quart waits for those before after_serving,
            # which is where the workers are told to stop.
            tasks.extend(asyncio.create_task(w.run()) for w in (state.deliverer, state.inbox_worker))
        # What start-up allocated lives as long as the process: keep it out of every later GC pass
        # (a full collection took 14-18 ms here and showed in the p99 of GETs).
        gc.collect()
        gc.freeze()

    @app.after_serving
    async def shutdown() -> None:
        for worker in (state.deliverer, state.inbox_worker):
            if worker is not None:
                await worker.stop()
        if state.stream_hub is not None:
            await state.stream_hub.stop()
        if tasks:
            await asyncio.wait(tasks, timeout=15)
        await client.close()
        await close_db()

    @app.errorhandler(FediError)
    async def fedi_error(exc: FediError) -> Response:
        return json_response({"error": exc.message}, exc.status)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        return json_response({"error": exc.description or exc.name}, exc.code or 500)

    @app.errorhandler(Exception)
    async def crash(exc: Exception) -> Response:
        if isinstance(exc, asyncio.CancelledError):
            raise exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": "internal server error"}, 500)

    return app
