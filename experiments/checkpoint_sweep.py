"""Evaluate a run's checkpoints on the standard protocol to choose the one to ship.

Every checkpoint at least `--every` frames after the previously chosen one (and always the
newest) is played through Gymnasium's pipeline with sticky actions 0.25, sampled, for
`--episodes` games with its own seed (`--seed`, not `a3c evaluate`'s default, so that a later
100-game evaluation of the chosen checkpoint plays other games than the ones it was chosen on).
Results are cached per checkpoint in OUT (as `eval_matrix.py` caches its cells). The table
printed, OUT/sweep.csv and `--plot` (drawn over the run's training curve) cover every checkpoint
cached in OUT under the same protocol, so a run swept a segment at a time keeps one whole table.
A checkpoint to sweep whose cell was played for another `--episodes` stops the script with
status 2 before any evaluation.

    .venv/bin/python experiments/checkpoint_sweep.py /tmp/longrun/archive/ckpt_*.pt \\
        --every 10000000 --episodes 30 --out experiments/results/v5-long/sweep \\
        --run experiments/results/v5-long --plot docs/v5-long-sweep.png
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# This folder's script: one evaluation, cached.
from eval_matrix import cell_path, read_cell, run_cell

from a3c.checkpoint import checkpoint_frames
from a3c.metrics import read_curve
from a3c.plot import rolling_mean


def frames_of(path: Path) -> int:
    frames = checkpoint_frames(path)
    if frames is None:
        raise SystemExit(f"{path}: not a checkpoint name (ckpt_<frames>.pt)")
    return frames


def choose(checkpoints: list[Path], every: int) -> list[Path]:
    """Checkpoints at least `every` frames apart, from the first, plus the newest."""
    ordered = sorted(checkpoints, key=frames_of)
    chosen: list[Path] = []
    for path in ordered:
        if not chosen or frames_of(path) - frames_of(chosen[-1]) >= every:
            chosen.append(path)
    if ordered and chosen[-1] != ordered[-1]:
        chosen.append(ordered[-1])
    return chosen


def cached_rows(out: Path, episodes: int, seed: int) -> list[dict[str, float]]:
    """Every checkpoint evaluated in `out` under the sweep's protocol, oldest first."""
    pattern = cell_path(out, Path("ckpt_*.pt"), "gymnasium", 0.25, "sample", seed).name
    rows = []
    for cell in out.glob(pattern):
        result = json.loads(cell.read_text())
        frames = checkpoint_frames(Path(cell.name.split("__")[0] + ".pt"))
        if frames is None or result["episodes"] != episodes:
            continue  # another model's cell, or one played for a different number of games
        rows.append({"frames": frames, **{k: result[k] for k in ("mean", "std", "median")}})
    return sorted(rows, key=lambda r: r["frames"])


def plot(rows: list[dict[str, float]], run: Path | None, out: Path, window: int = 100) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if run is not None:
        curve = read_curve(run)
        means = rolling_mean(curve.scores, window)
        ax.plot([f / 1e6 for f in curve.frames], means, lw=1, label=f"training, mean of {window}")
    ax.errorbar(
        [r["frames"] / 1e6 for r in rows],
        [r["mean"] for r in rows],
        yerr=[r["std"] for r in rows],
        fmt="o",
        capsize=3,
        label="Gymnasium pipeline, sticky 0.25, sampled (± std)",
    )
    ax.set_xlabel("frames (millions)")
    ax.set_ylabel("score")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--every", type=int, default=10_000_000)
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run", type=Path, help="run directory whose training curve to draw")
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="evaluations side by side")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    def evaluate(path: Path) -> None:
        result = run_cell(args.out, path, "gymnasium", 0.25, "sample", args.episodes, args.seed)
        print(f"{path.name}: {result['mean']:.1f} ± {result['std']:.1f}", file=sys.stderr)

    chosen = choose(args.checkpoints, args.every)
    for path in chosen:  # refuse a stale cache before any evaluation starts
        read_cell(cell_path(args.out, path, "gymnasium", 0.25, "sample", args.seed), args.episodes)
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(evaluate, chosen))
    rows = cached_rows(args.out, args.episodes, args.seed)
    with open(args.out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"| frames | mean ± std ({args.episodes} games) | median |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['frames'] / 1e6:.1f}M | {r['mean']:.1f} ± {r['std']:.1f} | {r['median']:g} |")
    best = max(rows, key=lambda r: r["mean"])
    print(f"\nbest: {best['frames'] / 1e6:.1f}M frames, {best['mean']:.1f}")
    if args.plot is not None:
        plot(rows, args.run, args.plot)


if __name__ == "__main__":
    main()
