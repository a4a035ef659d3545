"""Why greedy Breakout games run to the time cap: where the last point comes and what the ball does.

Plays one greedy game in `a3c evaluate --pipeline gymnasium`'s stack on the deterministic game
(sticky actions 0, `AtariPreprocessing`'s 1-30 no-op frames, the 108,000-frame cap), seeded as
that evaluation's first game (seed 1000000000), through the README's loop, and prints the
agent step of the last reward, the lives left, and the range of the ball's position (Breakout's
RAM bytes 99 and 101, y and x) over `--window` steps from `--probe`. A ball that moves over its
whole range with no reward and no life lost is in play on a path that meets no brick:

    .venv/bin/python experiments/greedy_stall.py models/breakout-a3c-atari-200M.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from a3c import Agent
from a3c.evaluate import EVAL_SEED_BASE, MAX_EPISODE_FRAMES, make_gymnasium_atari
from a3c.games import describe_game

BALL_Y, BALL_X = 99, 101  # Breakout's RAM addresses of the ball's position


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--seed", type=int, default=EVAL_SEED_BASE)
    parser.add_argument("--probe", type=int, default=4000, help="agent step to watch the ball from")
    parser.add_argument("--window", type=int, default=400, help="agent steps to watch it for")
    parser.add_argument(
        "--max-frames", type=int, default=MAX_EPISODE_FRAMES, help="the time cap, in frames"
    )
    args = parser.parse_args()

    agent = Agent.load(args.model, seed=0)
    cfg = agent.config
    fire = cfg.fire_on_life_loss and describe_game(cfg.env_id).has_fire  # as a3c evaluate does
    env = make_gymnasium_atari(cfg, 0.0, args.max_frames, fire)
    obs, info = env.reset(seed=args.seed)
    score, lives, step, last_reward = 0.0, info["lives"], 0, 0
    ball: list[tuple[int, int]] = []
    done = False
    while not done:
        action = agent.act(obs[None], greedy=True)[0]
        obs, reward, terminated, truncated, info = env.step(action)
        step += 1
        score += float(reward)
        last_reward = step if reward else last_reward
        lost, lives = info["lives"] < lives, info["lives"]
        done = terminated or truncated
        agent.reset(np.array([done or (lost and agent.resets_on_life_loss)]))
        if args.probe <= step < args.probe + args.window:
            ram = env.unwrapped.ale.getRAM()
            ball.append((int(ram[BALL_Y]), int(ram[BALL_X])))
    print(f"score {score:.0f} in {step} agent steps ({'truncated' if truncated else 'game over'})")
    print(f"last reward at step {last_reward}; lives left {lives}")
    if ball:
        ys, xs = [b[0] for b in ball], [b[1] for b in ball]
        print(
            f"ball over steps {args.probe}-{args.probe + len(ball) - 1}: "
            f"y {min(ys)}-{max(ys)} ({len(set(ys))} values), x {min(xs)}-{max(xs)}"
        )


if __name__ == "__main__":
    main()
