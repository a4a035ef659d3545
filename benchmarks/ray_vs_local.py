"""Training throughput of the Ray backend against the local one, same learners, one sitting.

    .venv/bin/python benchmarks/ray_vs_local.py --runs 3 -- --seconds 20 --warmup 15

Runs `a3c bench --json` alternately with `--backend local` and `--backend ray` (a local Ray
instance started for each run; add `--address ...` after `--` for a cluster), and prints the
median frames per second of each and their ratio. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys


def bench(backend: str, extra: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "a3c", "bench", "--json", "--backend", backend, *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each backend (default: 3)")
    parser.add_argument("bench_args", nargs="*", help="options passed to `a3c bench`")
    args = parser.parse_args()
    fps: dict[str, list[float]] = {"local": [], "ray": []}
    for i in range(args.runs):
        for backend in fps:  # alternate, so that drift in the machine's speed hits both
            result = bench(backend, args.bench_args)
            fps[backend].append(result["frames_per_second"])
            print(f"run {i + 1} {backend}: {fps[backend][-1]:,.0f} frames/s", file=sys.stderr)
    local, ray = statistics.median(fps["local"]), statistics.median(fps["ray"])
    print(
        json.dumps(
            {
                "median_frames_per_second": {"local": local, "ray": ray},
                "ray_over_local": round(ray / local, 3),
                "frames_per_second": fps,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
