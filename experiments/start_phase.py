"""Scores of evaluated games by the phase of the frame skip they started at.

Gymnasium's `AtariPreprocessing` starts each game with 1-30 no-op *emulator frames*, so the
agent's 4-frame steps begin at any of 4 phases (no-ops mod 4); an agent trained with no-ops
counted in agent steps only ever saw phase 0. Reads `a3c evaluate --json` files of the Gymnasium
pipeline (their games record their no-op frames) and prints, per file and pooled, the mean score
of the games at each phase:

    .venv/bin/python experiments/start_phase.py \\
        experiments/results/eval-matrix/*__gymnasium__*.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

SKIP = 4


def by_phase(games: list[dict[str, float]]) -> dict[int, list[float]]:
    """{phase: scores} for games with a `noops` count of emulator frames."""
    out: dict[int, list[float]] = {p: [] for p in range(SKIP)}
    for game in games:
        out[int(game["noops"]) % SKIP].append(float(game["score"]))
    return out


def cell(scores: list[float]) -> str:
    return f"{statistics.mean(scores):.1f} ({len(scores)})" if scores else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--pool", action="store_true", help="also one row over all the files")
    args = parser.parse_args()
    print("| evaluation | " + " | ".join(f"phase {p}: mean (games)" for p in range(SKIP)) + " |")
    print("|---|" + "---|" * SKIP)
    pooled: dict[int, list[float]] = {p: [] for p in range(SKIP)}
    for path in args.files:
        result = json.loads(path.read_text())
        if result.get("pipeline") != "gymnasium":
            raise SystemExit(f"{path}: not a Gymnasium-pipeline evaluation (no-ops in frames)")
        phases = by_phase(result["games"])
        for p, scores in phases.items():
            pooled[p] += scores
        print(f"| {path.stem} | " + " | ".join(cell(phases[p]) for p in range(SKIP)) + " |")
    if args.pool:
        print("| all of the above | " + " | ".join(cell(pooled[p]) for p in range(SKIP)) + " |")


if __name__ == "__main__":
    main()
