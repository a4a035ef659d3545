"""Frames per second against the number of actor-learners, for the README's scaling table.

    .venv/bin/python benchmarks/scaling.py [--learners 1 2 4 8 16] [-- extra `a3c bench` options]

Each point is one `a3c bench --json` run (default 15 s after a 8 s warm-up); run it on an idle
machine and repeat to see the spread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=8)
    parser.add_argument("bench_args", nargs="*", help="more options for `a3c bench`")
    args = parser.parse_args()
    print("| learners | processes | frames/s | env alone | env | inference | learn | sync |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.learners:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "a3c",
                "bench",
                "--json",
                "--workers",
                str(n),
                "--seconds",
                str(args.seconds),
                "--warmup",
                str(args.warmup),
                *args.bench_args,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out)
        split = r["time_split"]
        print(
            f"| {n} | {r['processes']} | {r['frames_per_second']:,.0f} | "
            f"{r['env_frames_per_second']:,.0f} | "
            + " | ".join(f"{100 * split[k]:.0f}%" for k in ("env", "inference", "learn", "sync"))
            + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
