"""Which level `pixel_input = "background"` subtracts from each screen, game by game.

Counts the level (`a3c.model.background_level`) of every screen that the run's health
measurement would use (`a3c.health.collect_screens`: uniformly random play, its fixed seed):

    .venv/bin/python experiments/background_levels.py Pong Breakout SpaceInvaders Qbert \\
        BeamRider Seaquest --out experiments/results/background-input/levels.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch

from a3c.config import make_config
from a3c.health import collect_screens
from a3c.model import background_level


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("games", nargs="+", help="ALE game names, e.g. Pong Breakout")
    parser.add_argument("--out", type=Path, required=True, help="JSON: game -> {level: screens}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result: dict[str, dict[str, int]] = {}
    for game in args.games:
        screens = collect_screens(make_config("atari", overrides={"env_id": f"ALE/{game}-v5"}))
        levels = Counter(int(v) for v in background_level(screens).tolist())
        result[game] = {str(level): n for level, n in levels.most_common()}
        shares = ", ".join(f"{level}: {n}" for level, n in levels.most_common(3))
        print(f"{game}: {len(screens)} screens; level: screens {shares}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
