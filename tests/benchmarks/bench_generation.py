"""Time the procedural generator (fedi.generation.procedural.render) at 1024x1024.

    python tests/benchmarks/bench_generation.py            # median of 10 runs
    python tests/benchmarks/bench_generation.py --runs 20 --size 512

Target (issue 3): under 300 ms for a 1024x1024 image on a 2-core machine.
FEDI_BENCH_SRC=/path/to/checkout times that checkout's generator (as the other benchmarks do).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402, F401  (puts FEDI_BENCH_SRC, else this checkout, first on sys.path)

from fedi.generation.procedural import render  # noqa: E402

TARGET_MS = 300.0
PROMPT = "a quiet mountain lake at sunset, snow, fireflies, clouds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    times = []
    for seed in range(args.runs):
        start = time.perf_counter()
        render(PROMPT, seed, args.size, args.size)
        times.append((time.perf_counter() - start) * 1000)
    median = statistics.median(times)
    verdict = "MEETS" if median <= TARGET_MS else "MISSES"
    print(f"procedural render {args.size}x{args.size}: median {median:.1f} ms (min {min(times):.1f}, "
          f"max {max(times):.1f}, {args.runs} runs); target <= {TARGET_MS:.0f} ms at 1024: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
