"""Time fedi.media.process_image on a 1024x1024 PNG of gradients and noise.

    python tests/benchmarks/bench_media.py                 # median of 10 runs
    python tests/benchmarks/bench_media.py --runs 20
    python tests/benchmarks/bench_media.py --method 4      # try another WebP method
    python tests/benchmarks/bench_media.py --profile       # cProfile one run

Each run writes into a fresh directory, so the files are really written (an existing
content-addressed file is not rewritten).  Target: median <= 150 ms on a 2-core machine.
FEDI_BENCH_SRC=/path/to/checkout times that checkout's fedi.media (as the server benchmarks do).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402  (puts FEDI_BENCH_SRC, else this checkout, first on sys.path)
from PIL import Image, ImageChops  # noqa: E402

from fedi import media  # noqa: E402

TARGET_MS = 150.0


def make_png(size: int = 1024) -> bytes:
    """A deterministic RGB PNG: three differently oriented gradients plus noise."""
    gradient = Image.linear_gradient("L").resize((size, size))
    red = gradient
    green = gradient.rotate(90)
    blue = ImageChops.multiply(gradient.rotate(45, fillcolor=128), gradient.rotate(180))
    base = Image.merge("RGB", (red, green, blue))
    noise = Image.effect_noise((size, size), 40).convert("RGB")
    im = Image.blend(base, noise, 0.25)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--method", type=int, default=None, help="override fedi.media.WEBP_METHOD")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    args = parser.parse_args()

    if args.method is not None:
        media.WEBP_METHOD = args.method
    data = make_png(args.size)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        media.process_image(data, root / "warmup")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            media.process_image(data, root / "profile")
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        times = []
        _common.wait_until_quiet()
        foreign = _common.ForeignLoad()
        for run in range(args.runs):
            start = time.perf_counter()
            stored = media.process_image(data, root / f"run{run}")
            times.append((time.perf_counter() - start) * 1000)
        other = foreign.stop()

    median = statistics.median(times)
    print(
        f"process_image {args.size}x{args.size} PNG ({len(data) / 1024:.0f} KiB in, "
        f"{stored.size / 1024:.0f} KiB WebP out), WebP method {media.WEBP_METHOD}, {args.runs} runs: "
        f"median {median:.1f} ms (min {min(times):.1f}, max {max(times):.1f}); other processes {other:.2f} cores; "
        f"code {Path(media.__file__).resolve().parents[1]}; target <= {TARGET_MS:.0f} ms: "
        f"{'MEETS' if median <= TARGET_MS else 'MISSES'}"
    )
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
