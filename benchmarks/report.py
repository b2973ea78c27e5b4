"""How long the PDF of a 60-minute, ~400-turn interview takes to build.

Run: .venv/bin/python benchmarks/report.py [--turns 400] [--minutes 60] [--runs 5]
Prints the median build time over several runs (fonts are loaded once, in a
warm-up run that is reported separately) and the page count. Target: < 1 s.
build() is pure, so no Django setup or database is needed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pypdf import PdfReader  # noqa: E402

from reports import samples  # noqa: E402
from reports.build import build  # noqa: E402
from reports.fonts import discover_fonts  # noqa: E402

TARGET_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", help="also write the PDF here")
    args = parser.parse_args()

    data = samples.interview(turns=args.turns, minutes=args.minutes)
    fonts = discover_fonts()
    started = time.perf_counter()
    pdf = build(data, fonts=fonts)
    cold = time.perf_counter() - started
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        pdf = build(data, fonts=fonts)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    if args.out:
        Path(args.out).write_bytes(pdf)
    print(f"turns={len(data.turns)} minutes={args.minutes:g} font={fonts.description}")
    print(f"first build (loads fonts): {cold:.3f} s")
    print(
        f"build median of {args.runs}: {median:.3f} s (min {min(times):.3f}, max {max(times):.3f})"
        f"  pages={pages}  size={len(pdf) / 1024:.0f} KiB"
    )
    print(f"target < {TARGET_S:.1f} s: {'met' if median < TARGET_S else 'NOT met'}")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
