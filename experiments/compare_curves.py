"""Plot several runs' learning curves and print mean scores per frame bucket.

    .venv/bin/python experiments/compare_curves.py runs/a runs/b -o docs/curves.png \\
        [--labels A B] [--window 100] [--frames 15000000] [--buckets 5] \\
        [--start 124803371] [--train-columns grad_norm,value] [--episode-columns avg_max_prob]

`--start`: only what comes after these frames (a run and its branches, from the branch).
`--train-columns`, `--episode-columns`: also the mean of these train.csv or episodes.csv columns
per bucket (4 significant digits), a table each.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections.abc import Sequence
from pathlib import Path

from a3c.metrics import read_episodes, read_rows
from a3c.plot import plot_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("--window", type=int, default=100, help="rolling mean, games")
    parser.add_argument("--frames", type=int, help="cut every curve at this frame budget")
    parser.add_argument("--buckets", type=int, default=5, help="columns of the printed table")
    parser.add_argument("--start", type=int, default=0, help="leave out frames up to this")
    parser.add_argument(
        "--train-columns", default="", help="comma-separated train.csv columns to tabulate too"
    )
    parser.add_argument(
        "--episode-columns", default="", help="comma-separated episodes.csv columns to tabulate"
    )
    args = parser.parse_args()
    labels = args.labels or [run.name for run in args.runs]
    plot_runs(args.runs, args.output, labels, args.window, args.frames, min_frames=args.start)
    # A run that has not finished a game yet has no frames: it gives no limit and empty cells.
    limit = args.frames or max(max(read_episodes(run)[0], default=0) for run in args.runs)
    if limit <= args.start:
        parser.exit(2, f"compare_curves.py: no run has finished a game after {args.start:,}\n")
    edges = [args.start + (limit - args.start) * b / args.buckets for b in range(args.buckets + 1)]
    header = " | ".join(f"{mega(lo)}–{mega(hi)}M" for lo, hi in itertools.pairwise(edges))
    print(f"| run | {header} | last 100 games |")
    print("|---" * (args.buckets + 2) + "|")
    for run, label in zip(args.runs, labels, strict=True):
        frames, scores = read_episodes(run)
        cells = bucket_means(frames, scores, edges)
        kept = [s for f, s in zip(frames, scores, strict=True) if args.start < f <= limit][-100:]
        last = f"{statistics.mean(kept):.1f}" if kept else "-"
        print(f"| {label} | " + " | ".join(cells) + f" | {last} |")
    extra = [("train.csv", c) for c in filter(None, args.train_columns.split(","))]
    extra += [("episodes.csv", c) for c in filter(None, args.episode_columns.split(","))]
    for name, column in extra:
        print(f"\n| {column} ({name}) | {header} |")
        print("|---" * (args.buckets + 1) + "|")
        for run, label in zip(args.runs, labels, strict=True):
            rows, _ = read_rows(run / name, ("frames",))
            # Health rows leave the loss columns empty: only rows that have the value count.
            pairs = [(float(r["frames"]), float(r[column])) for r in rows if r.get(column)]
            cells = bucket_means([f for f, _ in pairs], [v for _, v in pairs], edges, ".4g")
            print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"wrote {args.output}")


def mega(frames: float) -> str:
    """Frames in millions, to 0.1M: 20000000 -> '20', 124803371 -> '124.8'."""
    return f"{round(frames / 1e6, 1):g}"


def bucket_means(
    frames: Sequence[float], values: Sequence[float], edges: list[float], spec: str = ".1f"
) -> list[str]:
    """The mean of the values whose frames fall in each (lo, hi] bucket, formatted with `spec`,
    or '-' for none."""
    cells = []
    for lo, hi in itertools.pairwise(edges):
        inside = [v for f, v in zip(frames, values, strict=True) if lo < f <= hi]
        cells.append(format(statistics.mean(inside), spec) if inside else "-")
    return cells


if __name__ == "__main__":
    main()
