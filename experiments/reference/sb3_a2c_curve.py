"""The measuring stick for learning per frame: Stable-Baselines3's A2C with rl-zoo's Atari
settings and our network, trained on an ALE v5 game, its games written as a run of ours.

It runs in the reference implementations' own virtualenv, not ours (`../shared/reference/
setup.sh` makes /tmp/reference-venv with SB3 2.9.2), so it is neither imported nor tested by
the suite. OUT gets `config.json` (the env id, for `a3c plot`'s panels) and `episodes.csv`
(frames, score, wall_s of every whole game), so that

    /tmp/reference-venv/bin/python experiments/reference/sb3_a2c_curve.py \\
        --env ALE/Pong-v5 --frames 20000000 --seed 1 --out runs/sb3-a2c-pong-s1
    a3c plot runs/sb3-a2c-pong-s1 runs/pong-s1 -o pong-vs-sb3.png --at 5M,10M,20M

compares the two at equal frames. The model is saved to OUT/sb3-a2c-latest.zip every
`--save-every` frames (with its optimizer); run the same command again to go on from it, its
games appended to episodes.csv (the environments restart, and the random streams differ from
an unbroken run). Settings (rl-baselines3-zoo `hyperparams/a2c.yml`, `atari`):
16 environments (`make_atari_env`: no-op starts, FIRE reset, lost life as the end of an episode
for learning, 84x84 area resize, max-pool frame skip 4, rewards clipped) with 4 stacked frames,
n_steps 5, lr 7e-4 constant, `RMSpropTFLike` (ε 1e-5, α 0.99), entropy 0.01, value 0.25, gradient
norm 0.5, orthogonal init; the network is ours (conv 16x8x8/4, conv 32x4x4/2, dense 256, ReLU,
input / 255). The v5 ids keep their sticky actions (0.25), as our runs do.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import ale_py
import gymnasium as gym
import torch
from stable_baselines3 import A2C
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecFrameStack
from torch import nn

gym.register_envs(ale_py)
FRAME_SKIP = 4


class OurTrunk(BaseFeaturesExtractor):
    """Our network's trunk (the seed's): two convolutions and a dense layer of 256, ReLU."""

    def __init__(self, observation_space: gym.Space[Any], features_dim: int = 256) -> None:
        super().__init__(observation_space, features_dim)
        assert observation_space.shape is not None  # a Box of (4, 84, 84) screens
        channels = observation_space.shape[0]
        self.trunk = nn.Sequential(
            nn.Conv2d(channels, 16, 8, stride=4),
            nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 9 * 9, features_dim),
            nn.ReLU(),
        )

    def forward(self, screens: torch.Tensor) -> torch.Tensor:
        """(N, 4, 84, 84) scaled to [0, 1] by SB3 -> (N, 256)."""
        return self.trunk(screens)


class GameLog(BaseCallback):
    """Appends every whole game (the Monitor's record, below the lost-life ends) to
    episodes.csv, at the frames trained so far."""

    def __init__(self, path: Path, save_to: Path, save_every: int, resumed_at: int) -> None:
        super().__init__()
        header = ["frames", "episode", "score", "steps", "learner", "wall_s"]
        old = list(csv.reader(path.open()))[1:] if path.exists() else []
        # Games logged after the saved model was written are played again: drop them.
        kept = [row for row in old if int(row[0]) <= resumed_at]
        self.games = len(kept)
        # A resumed run's clock goes on from its last kept game.
        done_s = float(kept[-1][5]) if kept else 0.0
        self.file = open(path, "w", newline="")  # noqa: SIM115 - closed in _on_training_end
        self.writer = csv.writer(self.file)
        self.writer.writerows([header, *kept])
        self.start = time.monotonic() - done_s
        self.save_to = save_to
        self.save_every = save_every
        self.next_save = (resumed_at // save_every + 1) * save_every

    def _on_step(self) -> bool:
        for env_index, info in enumerate(self.locals["infos"]):
            if "episode" in info:
                self.games += 1
                frames = self.num_timesteps * FRAME_SKIP
                game = info["episode"]
                wall = round(time.monotonic() - self.start, 1)
                # The Monitor sits below the frame skip: its length is in emulator frames.
                steps = int(game["l"]) // FRAME_SKIP
                self.writer.writerow([frames, self.games, game["r"], steps, env_index, wall])
                self.file.flush()
        if self.num_timesteps * FRAME_SKIP >= self.next_save:
            self.next_save += self.save_every
            partial = self.save_to.with_suffix(".part.zip")
            self.model.save(partial)
            partial.replace(self.save_to)
        return True

    def _on_training_end(self) -> None:
        self.file.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--frames", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save-every", type=int, default=1_000_000, help="frames between saves")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    env = VecFrameStack(
        make_atari_env(args.env, n_envs=16, seed=args.seed, env_kwargs={"frameskip": 1}), 4
    )
    settings = {
        "learning_rate": 7e-4,
        "n_steps": 5,
        "ent_coef": 0.01,
        "vf_coef": 0.25,
        "max_grad_norm": 0.5,
        "gamma": 0.99,
    }
    latest = args.out / "sb3-a2c-latest.zip"
    model = A2C(
        "CnnPolicy",
        env,
        seed=args.seed,
        verbose=0,
        policy_kwargs={
            "features_extractor_class": OurTrunk,
            "net_arch": [],
            "optimizer_class": RMSpropTFLike,
            "optimizer_kwargs": {"eps": 1e-5},
        },
        **settings,
    )
    if latest.exists():
        model = A2C.load(latest, env=env)  # its weights, optimizer and step count
        print(f"resuming at {model.num_timesteps * FRAME_SKIP} frames", flush=True)
    record = {"env_id": args.env, "trainer": "stable-baselines3 A2C", "seed": args.seed}
    (args.out / "config.json").write_text(json.dumps({**record, **settings}, indent=1) + "\n")
    resumed_at = model.num_timesteps * FRAME_SKIP
    log = GameLog(args.out / "episodes.csv", latest, args.save_every, resumed_at)
    remaining = args.frames // FRAME_SKIP - model.num_timesteps
    model.learn(total_timesteps=max(remaining, 0), callback=log, reset_num_timesteps=False)
    model.save(args.out / "sb3-a2c-final.zip")


if __name__ == "__main__":
    main()
