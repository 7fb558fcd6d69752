"""The framework ceiling: a trivial Quart app returning a small JSON document, on hypercorn, configured
the way `fedi serve` configures it (one process, asyncio, no access log).

    python tests/benchmarks/_hello_app.py PORT
"""

from __future__ import annotations

import asyncio
import signal
import sys

import orjson
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response

app = Quart("hello")
DOC = {"subject": "acct:alice@127.0.0.1", "links": [{"rel": "self", "type": "application/activity+json",
                                                      "href": "http://127.0.0.1/users/alice"}]}


@app.get("/hello")
async def hello() -> Response:
    return Response(orjson.dumps(DOC), content_type="application/json")


def main() -> None:
    port = int(sys.argv[1])
    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.accesslog = None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, cfg, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())


if __name__ == "__main__":
    main()
