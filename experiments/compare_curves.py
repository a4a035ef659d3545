"""Plot several runs' learning curves and print mean scores per frame bucket.

    .venv/bin/python experiments/compare_curves.py runs/a runs/b -o docs/curves.png \\
        [--labels A B] [--window 100] [--frames 15000000] [--buckets 5]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

from a3c.metrics import read_episodes
from a3c.plot import plot_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("--window", type=int, default=100, help="rolling mean, games")
    parser.add_argument("--frames", type=int, help="cut every curve at this frame budget")
    parser.add_argument("--buckets", type=int, default=5, help="columns of the printed table")
    args = parser.parse_args()
    labels = args.labels or [run.name for run in args.runs]
    plot_runs(args.runs, args.output, labels, args.window, args.frames)
    # A run that has not finished a game yet has no frames: it gives no limit and empty cells.
    limit = args.frames or max(max(read_episodes(run)[0], default=0) for run in args.runs)
    if not limit:
        parser.exit(2, "compare_curves.py: none of the runs has finished a game yet\n")
    edges = [limit * b / args.buckets for b in range(args.buckets + 1)]
    header = " | ".join(f"{lo / 1e6:.0f}–{hi / 1e6:.0f}M" for lo, hi in itertools.pairwise(edges))
    print(f"| run | {header} | last 100 games |")
    print("|---" * (args.buckets + 2) + "|")
    for run, label in zip(args.runs, labels, strict=True):
        frames, scores = read_episodes(run)
        cells = []
        for lo, hi in itertools.pairwise(edges):
            inside = [s for f, s in zip(frames, scores, strict=True) if lo < f <= hi]
            cells.append(f"{statistics.mean(inside):.1f}" if inside else "-")
        kept = [s for f, s in zip(frames, scores, strict=True) if f <= limit][-100:]
        last = f"{statistics.mean(kept):.1f}" if kept else "-"
        print(f"| {label} | " + " | ".join(cells) + f" | {last} |")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
