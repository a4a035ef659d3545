"""Train on Breakout for a budget, then evaluate the final checkpoint; write the curve and scores.

    .venv/bin/python experiments/learning_run.py --frames 80000000 --out experiments/results/NAME \\
        [--episodes 30] [-- extra `a3c train` options, e.g. --preset paper]

Writes OUT/curve.png, OUT/evaluation.json and OUT/summary.json (frames, wall time, machine,
config, mean ± std), and leaves the run itself in OUT/run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, required=True, help="training budget")
    parser.add_argument("--out", type=Path, required=True, help="results directory")
    parser.add_argument("--episodes", type=int, default=30, help="evaluation games")
    parser.add_argument("train_args", nargs="*", help="more options for `a3c train`")
    args = parser.parse_args()
    a3c = [sys.executable, "-m", "a3c"]
    run = args.out / "run"
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    subprocess.run(
        [*a3c, "train", "--frames", str(args.frames), "--run-dir", str(run), *args.train_args],
        check=True,
    )
    wall_s = time.monotonic() - start
    evaluation = subprocess.run(
        [*a3c, "evaluate", str(run), "--episodes", str(args.episodes), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (args.out / "evaluation.json").write_text(evaluation)
    subprocess.run([*a3c, "plot", str(run), "-o", str(args.out / "curve.png")], check=True)
    result = json.loads(evaluation)
    config = json.loads((run / "config.json").read_text())
    summary = {
        "frames": args.frames,
        "wall_s": round(wall_s),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "preset": config["preset"],
        "config": config,
        "evaluation": {k: result[k] for k in ("mean", "std", "median", "min", "max", "episodes")},
        "protocol": result["protocol"],
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"{args.frames:,} frames in {wall_s / 3600:.2f} h: evaluation mean "
        f"{result['mean']:.1f} ± {result['std']:.1f} over {result['episodes']} games"
    )


if __name__ == "__main__":
    main()
