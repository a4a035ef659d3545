"""Run `a3c bench --json` several times and report the median, as the README quotes it.

    .venv/bin/python benchmarks/bench_median.py --runs 3 -- --seconds 20 --warmup 10

Everything after `--` goes to `a3c bench`. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="bench runs (default: 3)")
    parser.add_argument("bench_args", nargs="*", help="options passed to `a3c bench`")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-m", "a3c", "bench", "--json", *args.bench_args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out))
        print(f"run {i + 1}: {runs[-1]['frames_per_second']:,.0f} frames/s", file=sys.stderr)
    fps = [r["frames_per_second"] for r in runs]
    summary = {
        "median_frames_per_second": statistics.median(fps),
        "frames_per_second": fps,
        "median_env_frames_per_second": statistics.median(r["env_frames_per_second"] for r in runs),
        "time_split": runs[fps.index(statistics.median_low(fps))]["time_split"],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_rss_mb_per_process": max(r["peak_rss_mb_per_process"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
