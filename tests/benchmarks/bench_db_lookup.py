"""CPU per lookup of one account row: through tortoise's query builder vs a raw SELECT (fedi.db.select).

    python tests/benchmarks/bench_db_lookup.py                 # SQLite in a temp dir, 2000 lookups each
    python tests/benchmarks/bench_db_lookup.py -n 5000

Why: first contact in the inbox looks a signing key up (and, before 682c1d3, its owner a second time);
the ORM's per-query cost was most of it. Process CPU time (both the event loop and aiosqlite's thread),
lookups that find nothing (a first contact), run alternately in 4 batches; the figure is the best batch.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402,F401  (puts the code under test on sys.path)


async def main(n: int) -> None:
    from fedi.config import Config
    from fedi.db import close_db, init_db, select
    from fedi.models import Account

    data = Path(tempfile.mkdtemp(prefix="fedi-bench-lookup-"))
    url = f"sqlite://{data}/db.sqlite3"
    await init_db(Config(domain="bench.test", scheme="http", data_dir=data, database_url=url))

    async def orm(i: int) -> None:
        await Account.get_or_none(key_id=f"http://remote.test/users/a{i}#main-key")

    async def raw(i: int) -> None:
        await select("SELECT id, uri, key_id, public_key_pem FROM accounts WHERE key_id = ? OR uri = ?",
                     f"http://remote.test/users/a{i}#main-key", f"http://remote.test/users/a{i}")

    best = {"tortoise get_or_none(key_id=...)": float("inf"), "raw select (key_id or uri)": float("inf")}
    for _ in range(4):
        for name, fn in zip(best, (orm, raw), strict=True):
            start = time.process_time()
            for i in range(n):
                await fn(i)
            best[name] = min(best[name], (time.process_time() - start) / n * 1e6)
    await close_db()
    print(f"SQLite, {n} lookups per batch, best of 4 batches (process CPU):")
    for name, us in best.items():
        print(f"  {name}: {us:.0f} us per lookup")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.n))
