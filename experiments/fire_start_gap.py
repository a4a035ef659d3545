"""Play a checkpoint in its own training game (the seed's 1-30 FIRE start steps included) and
relate each game's score to its number of start steps.

The seed preset's training curve sits well below its evaluations, which start with no-ops; this
measures how much of that gap the forced FIRE steps at the start of a game explain:

    .venv/bin/python experiments/fire_start_gap.py models/breakout-a3c-seed-80M.pt --games 60 \\
        --out experiments/results/seed-fire-starts/games.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from a3c.agent import Agent
from a3c.checkpoint import load_network
from a3c.envs import make_vec_env
from a3c.evaluate import EVAL_SEED_BASE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--games", type=int, default=60)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    model, cfg, _ = load_network(args.checkpoint)
    env = make_vec_env(cfg, [EVAL_SEED_BASE + 777 + i for i in range(8)])  # the training game
    agent = Agent(model, cfg, None, seed=5)  # actions as the policy's, sampled
    obs, _ = env.reset()
    games: list[dict[str, float]] = []
    while len(games) < args.games:
        step = env.step(agent.act(obs))
        agent.reset(step.episode_ends(cfg.terminal_on_life_loss))
        obs = step.obs
        games += [{"start_steps": e.start_steps, "score": e.score} for e in step.episodes]
    games = games[: args.games]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"start_mode": cfg.start_mode, "games": games}, indent=1))

    score = np.array([g["score"] for g in games])
    start = np.array([g["start_steps"] for g in games])
    # A correlation needs both to vary (not so with one game, or a policy that always scores the
    # same): say so rather than print nan.
    varied = len(games) > 1 and score.std() > 0 and start.std() > 0
    corr = f"{np.corrcoef(start, score)[0, 1]:.2f}" if varied else "undefined (no variation)"
    print(
        f"{len(games)} games, start mode {cfg.start_mode!r}: {score.mean():.1f} ± {score.std():.1f}"
    )
    print(f"  under 60 points: {np.mean(score < 60):.0%}; correlation with start steps {corr}")
    for lo, hi in ((1, 10), (11, 20), (21, 30)):
        inside = (start >= lo) & (start <= hi)
        if inside.any():
            print(f"  {lo}-{hi} start steps: {inside.sum()} games, mean {score[inside].mean():.1f}")


if __name__ == "__main__":
    main()
