"""Plot raw game score against emulator frames for several runs, with a rolling mean.

    .venv/bin/python benchmarks/compare_curves.py runs/a runs/b -o docs/curves.png \\
        [--labels A B] [--window 100] [--frames 15000000]

Reads each run's episodes.csv; prints a small table of mean scores per frame bucket too.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path


def read_episodes(run: Path) -> tuple[list[int], list[float]]:
    with open(run / "episodes.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [int(r["frames"]) for r in rows], [float(r["score"]) for r in rows]


def rolling_mean(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("--window", type=int, default=100, help="rolling mean, games")
    parser.add_argument("--frames", type=int, help="cut every curve at this frame budget")
    parser.add_argument("--buckets", type=int, default=5, help="rows of the printed table")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = args.labels or [run.name for run in args.runs]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    limit = args.frames or 10**18
    print("| run | " + " | ".join(f"bucket {i + 1}" for i in range(args.buckets)) + " |")
    for run, label in zip(args.runs, labels, strict=True):
        frames, scores = read_episodes(run)
        kept = [(f, s) for f, s in zip(frames, scores, strict=True) if f <= limit]
        frames, scores = [f for f, _ in kept], [s for _, s in kept]
        line = ax.plot([f / 1e6 for f in frames], rolling_mean(scores, args.window), label=label)
        ax.scatter([f / 1e6 for f in frames], scores, s=1, alpha=0.08, color=line[0].get_color())
        top = max(frames)
        cells = []
        for b in range(args.buckets):
            lo, hi = top * b / args.buckets, top * (b + 1) / args.buckets
            inside = [s for f, s in zip(frames, scores, strict=True) if lo < f <= hi]
            cells.append(f"{statistics.mean(inside):.1f}" if inside else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")
    ax.set_xlabel("emulator frames (millions)")
    ax.set_ylabel(f"raw game score (dots: games; lines: mean of {args.window})")
    ax.grid(alpha=0.3)
    ax.legend()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
