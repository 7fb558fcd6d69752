"""`fedi serve` (hypercorn, the wake file, a clean stop on SIGTERM) and `fedi demo`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
from typing import Any

from fedi import __version__
from fedi.cli.common import serve_file, state_for, with_db
from fedi.config import Config


def serve(cfg: Config, host: str, port: int) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HyperConfig

    from fedi.app import create_app

    app = create_app(cfg)
    hc = HyperConfig()
    hc.bind = [f"{host}:{port}"]
    hc.accesslog = None
    hc.graceful_timeout = 10
    secret = secrets.token_urlsafe(24)
    app.state.wake_secret = secret
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in local_host:
        local_host = f"[{local_host}]"  # an IPv6 address in a URL
    cfg.data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        path = serve_file(cfg)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": f"http://{local_host}:{port}", "secret": secret, "pid": os.getpid()}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

        async def shutdown() -> None:
            await stop.wait()
            if app.state.stream_hub is not None:  # open streams end now, not after the graceful timeout
                app.state.stream_hub.close()

        try:
            await hypercorn_serve(app, hc, shutdown_trigger=shutdown)
        finally:
            with contextlib.suppress(OSError):
                if json.loads(path.read_text()).get("pid") == os.getpid():
                    path.unlink()

    print(f"fedi {__version__} serving {cfg.base_url} on http://{host}:{port}", flush=True)
    asyncio.run(main())


def demo(port: int) -> None:
    os.environ.setdefault("FEDI_DOMAIN", f"127.0.0.1:{port}")
    os.environ.setdefault("FEDI_SCHEME", "http")
    cfg = Config.from_env()

    async def setup() -> str:
        from fedi.accounts import create_token, create_user, local_user
        from fedi.errors import NotFound
        from fedi.urls import Urls
        try:
            account = await local_user("demo")
        except NotFound:
            account = await create_user(Urls(cfg), "demo", "Demo", "demo-password")
            await _demo_post(cfg, account)
        return await create_token(account)

    token = asyncio.run(with_db(cfg, setup))
    print(f"Demo account: demo@{cfg.domain} (password demo-password)")
    print(f"Open {cfg.base_url}/@demo   API token: {token}")
    print(f'Try: curl -H "Authorization: Bearer {token}" {cfg.base_url}/api/v1/accounts/verify_credentials')
    serve(cfg, "127.0.0.1", port)


def _demo_image() -> bytes:
    """A procedural picture, so a fresh demo instance has something to show."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (768, 512))
    draw = ImageDraw.Draw(image)
    for y in range(512):
        draw.line([(0, y), (768, y)], fill=(20 + y // 4, 30 + y // 6, 90 + y // 5))
    for i in range(12):
        x, y, r = 60 + i * 55, 300 - (i * 37) % 180, 20 + (i * 13) % 40
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(240, 140 + i * 8, 60))
    buf = BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


async def _demo_post(cfg: Config, account: Any) -> None:
    from fedi.accounts import instance_actor
    from fedi.generation_meta import Generation
    from fedi.uploads import store_upload
    from outbox.publish import publish_post
    state = state_for(cfg)
    state.instance_actor = await instance_actor(state.urls)
    media = await store_upload(state, account, _demo_image(), "Orange suns over a violet gradient")
    generation = Generation.parse({"prompt": "orange suns over a violet gradient", "model": "fedi-demo"})
    await publish_post(state, account, caption="Hello from fedi", media=[media], generation=generation)
