"""Play a model through Gymnasium stacks that differ from ours in the details evaluators differ in.

An evaluator we did not write may press FIRE for the agent, restart the frame history after a
lost life (the seed's protocol), use ALE's 18 actions, a v4 id without sticky actions and
channels-last stacks (Stable-Baselines3's layout), or another resize. Each variant changes one
or a few of these against the standard stack of `a3c evaluate --pipeline gymnasium`, and is
built from Gymnasium's wrappers plus the few lines below; only `Agent` and the game loop of
`evaluate_gymnasium` are ours. Results are cached per cell in OUT as JSON and printed as a
markdown table:

    .venv/bin/python experiments/protocol_variants.py models/breakout-a3c-v5-150M.pt \\
        --episodes 30 --out experiments/results/protocol-variants
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import ale_py
import cv2
import gymnasium
import numpy as np
import torch
from gymnasium.spaces import Box
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformObservation

from a3c.agent import Agent
from a3c.evaluate import FireAfterLifeLoss, evaluate_gymnasium, gymnasium_env_id

MAX_FRAMES = 108_000


@dataclasses.dataclass(frozen=True)
class Variant:
    """One evaluation stack: what it changes against the standard one."""

    text: str
    v4: bool = False  # <Game>NoFrameskip-v4: no sticky actions (else ALE/<Game>-v5, sticky 0.25)
    fire: bool = False  # FIRE pressed by the environment after reset and after a lost life
    restart: bool = False  # frame history refilled with the current frame after a lost life
    full_actions: bool = False  # ALE's 18 actions instead of the game's minimal set
    bilinear: bool = False  # 84x84 by bilinear interpolation instead of area averaging
    channels_last: bool = False  # stacks (84, 84, 4), as Stable-Baselines3's VecFrameStack


VARIANTS = {
    "standard": Variant("ALE/<Game>-v5 (sticky 0.25), AtariPreprocessing, FrameStackObservation"),
    "fire": Variant("standard + FIRE after reset and after each lost life", fire=True),
    "fire-restart": Variant(
        "standard + FIRE and frame history restarted after each lost life (the seed's protocol)",
        fire=True,
        restart=True,
    ),
    "full-actions": Variant("standard with full_action_space=True (18 actions)", full_actions=True),
    "bilinear": Variant("standard with a bilinear 84x84 resize", bilinear=True),
    "v4-sb3": Variant(
        "<Game>NoFrameskip-v4 (no sticky actions), FIRE after reset and lost lives, channels-last",
        v4=True,
        fire=True,
        channels_last=True,
    ),
}


def make_stack(game: str, variant: Variant) -> Any:
    """A Gymnasium environment for `game` ("Breakout") as `variant` describes."""
    gymnasium.register_envs(ale_py)
    kwargs: dict[str, Any] = {"max_num_frames_per_episode": MAX_FRAMES}
    kwargs["full_action_space"] = variant.full_actions
    if variant.v4:
        env = gymnasium.make(f"{game}NoFrameskip-v4", **kwargs)
    else:
        env = gymnasium.make(
            f"ALE/{game}-v5", frameskip=1, repeat_action_probability=0.25, **kwargs
        )
    if variant.bilinear:  # keep the full screen, then resize it ourselves
        env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=(160, 210))
        env = TransformObservation(
            env,
            lambda o: cv2.resize(o, (84, 84), interpolation=cv2.INTER_LINEAR),
            Box(0, 255, (84, 84), np.uint8),
        )
    else:
        env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84)
    if variant.fire:
        env = FireAfterLifeLoss(env)
    env = RestartOnLifeLoss(env) if variant.restart else FrameStackObservation(env, 4)
    if variant.channels_last:
        env = TransformObservation(
            env, lambda o: np.moveaxis(np.asarray(o), 0, -1), Box(0, 255, (84, 84, 4), np.uint8)
        )
    return env


class RestartOnLifeLoss(gymnasium.Wrapper):
    """Stack the last 4 frames, refilled with the current one at reset and after a lost life."""

    def __init__(self, env: Any, frames: int = 4) -> None:
        super().__init__(env)
        self.observation_space = Box(0, 255, (frames, *env.observation_space.shape), np.uint8)
        self.stack: deque[np.ndarray] = deque(maxlen=frames)
        self.lives = 0

    def _fill(self, frame: np.ndarray) -> np.ndarray:
        self.stack.extend([frame] * self.stack.maxlen)  # type: ignore[operator]
        return np.stack(self.stack)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.lives = info["lives"]
        return self._fill(obs), info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if info["lives"] < self.lives:
            stacked = self._fill(obs)
        else:
            self.stack.append(obs)
            stacked = np.stack(self.stack)
        self.lives = info["lives"]
        return stacked, float(reward), terminated, truncated, info


def run_cell(model: Path, name: str, greedy: bool, episodes: int, seed: int) -> dict[str, Any]:
    """Play one model through one variant; the `evaluate_gymnasium` summary plus the variant."""
    torch.set_num_threads(1)  # cells run side by side, one per core
    variant = VARIANTS[name]
    agent = Agent.load(model, full_action_space=variant.full_actions, seed=seed)
    game = gymnasium_env_id(agent.config).split("/")[-1].rsplit("-v", 1)[0]
    make = functools.partial(make_stack, game, variant)
    result = evaluate_gymnasium(agent, episodes, greedy, seed, MAX_FRAMES, make_env=make)
    result["pipeline"] = "gymnasium, protocol variant"
    result["protocol"] = {
        "variant": name,
        "text": variant.text,
        **dataclasses.asdict(variant),
        "policy": "greedy" if greedy else "sample",
        "noop_max": 30,
        "max_episode_frames": MAX_FRAMES,
        "seed": seed,
    }
    return result


def cell_file(out: Path, model: Path, name: str, greedy: bool, seed: int) -> Path:
    policy = "greedy" if greedy else "sample"
    return out / f"{model.stem}__{name}__{policy}__seed{seed}.json"


def _cached_cell(out: Path, model: Path, name: str, greedy: bool, episodes: int, seed: int) -> str:
    path = cell_file(out, model, name, greedy, seed)
    if not path.exists():
        path.write_text(json.dumps(run_cell(model, name, greedy, episodes, seed), indent=1))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--greedy", action="store_true", help="greedy actions (default: sampled)")
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    cells = [(m, v) for m in args.models for v in args.variants]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        futures = [
            pool.submit(_cached_cell, args.out, m, v, args.greedy, args.episodes, args.seed)
            for m, v in cells
        ]
        paths = [Path(f.result()) for f in futures]

    policy = "greedy" if args.greedy else "sampled"
    print(f"| model | variant | what it changes | {policy}, {args.episodes} games |")
    print("|---|---|---|---|")
    for (model, name), path in zip(cells, paths, strict=True):
        r = json.loads(path.read_text())
        score = f"{r['mean']:.1f} ± {r['std']:.1f} (median {r['median']:g})"
        print(f"| `{model.name}` | {name} | {VARIANTS[name].text} | {score} |")


if __name__ == "__main__":
    main()
