"""Evaluate models on both pipelines, with and without sticky actions, sampled and greedy.

Each cell is one `a3c evaluate ... --json` run, kept in
OUT/<model>__<pipeline>__sticky<p>__<policy>.json (a cell whose file exists is read, not run
again, and one played for another number of games stops the script with status 2 before
anything runs); the whole is printed as a markdown table:

    .venv/bin/python experiments/eval_matrix.py models/breakout-a3c-seed-80M.pt \\
        models/breakout-a3c-v5-150M.pt --episodes 100 --out experiments/results/eval-matrix

Cells run `--jobs` at a time (default 2, one per core of the machine this was written on).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

A3C = str(Path(sys.executable).with_name("a3c"))
PIPELINES = ("own", "gymnasium")
STICKY = (0.0, 0.25)
POLICIES = ("sample", "greedy")


def cell_path(
    out: Path, model: Path, pipeline: str, sticky: float, policy: str, seed: int | None = None
) -> Path:
    suffix = "" if seed is None else f"__seed{seed}"
    return out / f"{model.stem}__{pipeline}__sticky{sticky:g}__{policy}{suffix}.json"


def read_cell(path: Path, episodes: int) -> dict[str, Any] | None:
    """The evaluation cached at `path`, None if there is none yet.

    A cell played for another number of games exits with status 2: reading it would put its
    figure under a heading that names `episodes` games, and running it again would overwrite it.
    """
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text())
    if result["episodes"] != episodes:
        print(
            f"error: {path} was played with --episodes {result['episodes']}, not {episodes}; "
            f"pass --episodes {result['episodes']} or another --out",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return result


def run_cell(
    out: Path,
    model: Path,
    pipeline: str,
    sticky: float,
    policy: str,
    episodes: int,
    seed: int | None = None,
) -> dict[str, Any]:
    """One evaluation, cached in its JSON file; seed None: `a3c evaluate`'s default seed."""
    path = cell_path(out, model, pipeline, sticky, policy, seed)
    cached = read_cell(path, episodes)
    if cached is not None:
        return cached
    command = [A3C, "evaluate", str(model), "--episodes", str(episodes), f"--{policy}"]
    command += ["--pipeline", pipeline, "--sticky", str(sticky), "--json"]
    command += [] if seed is None else ["--seed", str(seed)]
    # One thread per evaluation: cells run side by side, and two evaluations each using
    # both cores played about 2.5x fewer steps/s than two single-threaded ones (one rough
    # measurement on 2 cores).
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    path.write_text(done.stdout)
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def describe(result: dict[str, Any]) -> str:
    return f"{result['mean']:.1f} ± {result['std']:.1f} (median {result['median']:g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    cells = list(itertools.product(args.models, PIPELINES, STICKY, POLICIES))
    for cell in cells:  # refuse a stale cache before any evaluation starts
        read_cell(cell_path(args.out, *cell), args.episodes)
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(
            pool.map(lambda c: run_cell(args.out, c[0], c[1], c[2], c[3], args.episodes), cells)
        )
    table = dict(zip(cells, results, strict=True))

    print(f"| model | pipeline | sticky | sampled ({args.episodes} games) | greedy |")
    print("|---|---|---|---|---|")
    for model, pipeline, sticky in itertools.product(args.models, PIPELINES, STICKY):
        sampled = describe(table[(model, pipeline, sticky, "sample")])
        greedy = describe(table[(model, pipeline, sticky, "greedy")])
        print(f"| `{model.name}` | {pipeline} | {sticky:g} | {sampled} | {greedy} |")


if __name__ == "__main__":
    main()
