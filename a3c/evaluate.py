"""Evaluation and play of a trained agent: the standard protocol, video, and a window."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from a3c.checkpoint import CheckpointError, load_checkpoint
from a3c.config import Config, ConfigError, config_from_dict
from a3c.envs import AtariGame, AtariVecEnv, VecEnv, atari_rom, make_vec_env
from a3c.learner import sample_actions
from a3c.model import ActorCritic

# Evaluation games are seeded from here up; training seeds stay far below (see learner_seed).
EVAL_SEED_BASE = 1_000_000_000
NOOP_MAX = 30
MAX_EPISODE_FRAMES = 108_000  # 30 minutes of play at 60 frames per second


def load_agent(path: Path) -> tuple[ActorCritic, Config, dict[str, Any]]:
    """The network and config of a checkpoint written by `a3c train`, checked for consistency.

    Raises CheckpointError for a missing, damaged or foreign file, or one whose network does not
    fit its own game and action set.
    """
    data = load_checkpoint(path)
    try:
        cfg = config_from_dict(data["config"])
    except ConfigError as err:
        raise CheckpointError(f"{str(path)!r} holds an invalid config: {err}") from None
    env = make_vec_env(cfg, [0])
    try:
        n_actions, obs_shape = env.n_actions, tuple(env.obs_shape)
    finally:
        env.close()
    stored = (int(data.get("n_actions", -1)), tuple(data.get("obs_shape", ())))
    if stored != (n_actions, obs_shape):
        raise CheckpointError(
            f"{str(path)!r} is for a network with {stored[0]} actions and input {stored[1]}, "
            f"but {cfg.env_id} with action set {cfg.action_set!r} has {n_actions} actions "
            f"and input {obs_shape}"
        )
    model = ActorCritic(obs_shape, n_actions, cfg.torso)
    try:
        model.load_state_dict(data["model"])
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(
            f"{str(path)!r}: its weights do not fit the network ({first})"
        ) from None
    model.eval()
    return model, cfg, data


def evaluation_config(
    cfg: Config, max_episode_frames: int = MAX_EPISODE_FRAMES, sticky: float | None = None
) -> Config:
    """The training config with the evaluation protocol's game start and length.

    `sticky`: probability that the emulator repeats the previous action instead of the agent's
    (ALE v5 uses 0.25); None keeps the training game's (0 for the seed's deterministic game).
    """
    return dataclasses.replace(
        cfg,
        start_mode="noop",
        start_steps_min=0,
        start_steps_max=NOOP_MAX,
        max_episode_frames=max_episode_frames,
        repeat_action_probability=(
            cfg.repeat_action_probability if sticky is None else float(sticky)
        ),
    )


def choose_actions(
    model: ActorCritic, obs: np.ndarray, greedy: bool, rng: np.random.Generator
) -> np.ndarray:
    """Actions (E,) for observations (E, *obs_shape): the most probable, or sampled."""
    with torch.inference_mode():
        logits, _ = model(torch.from_numpy(obs))
    if greedy:
        return logits.argmax(dim=1).numpy()
    return sample_actions(torch.softmax(logits, dim=1).numpy(), rng)


def evaluate(
    model: ActorCritic,
    cfg: Config,
    episodes: int = 30,
    greedy: bool = True,
    seed: int = 0,
    max_episode_frames: int = MAX_EPISODE_FRAMES,
    on_episode: Callable[[int, dict[str, Any]], None] | None = None,
    sticky: float | None = None,
) -> dict[str, Any]:
    """Play `episodes` whole games (all lives) and summarise their raw scores.

    Games start with 0-30 random no-ops and stop at `max_episode_frames`; up to 8 are played
    at once. Seeds come from EVAL_SEED_BASE, a range training never uses. With `sticky` > 0
    the emulator sometimes repeats the last action, so even a greedy policy plays varied games.
    """
    ecfg = evaluation_config(cfg, max_episode_frames, sticky)
    n_envs = min(episodes, 8)
    env: VecEnv = make_vec_env(ecfg, [EVAL_SEED_BASE + seed * 1000 + i for i in range(n_envs)])
    rng = np.random.default_rng(EVAL_SEED_BASE + seed)
    obs, _ = env.reset()
    games: list[dict[str, Any]] = []
    counting = np.ones(n_envs, bool)  # envs whose current game will be counted
    started = n_envs
    while len(games) < episodes:
        step = env.step(choose_actions(model, obs, greedy, rng))
        obs = step.obs
        for ep in step.episodes:
            if not counting[ep.env_index]:
                continue
            game = {
                "score": ep.score,
                "frames": ep.frames,
                "steps": ep.steps,
                "noops": ep.start_steps,
                "truncated": ep.truncated,
            }
            games.append(game)
            if on_episode is not None:
                on_episode(len(games), game)
            if started < episodes:
                started += 1
            else:
                counting[ep.env_index] = False
    env.close()
    scores = [g["score"] for g in games]
    return {
        "env_id": cfg.env_id,
        "episodes": len(games),
        "mean": statistics.mean(scores),
        "median": statistics.median(scores),
        "std": statistics.pstdev(scores),
        "min": min(scores),
        "max": max(scores),
        "frames": sum(g["frames"] for g in games),
        "truncated": sum(g["truncated"] for g in games),
        "protocol": {
            "policy": "greedy" if greedy else "sample",
            "noop_max": NOOP_MAX,
            "max_episode_frames": max_episode_frames,
            "frame_skip": cfg.frame_skip,
            "repeat_action_probability": ecfg.repeat_action_probability,
            "fire_on_life_loss": cfg.fire_on_life_loss,
            "seed": seed,
            "seeds": f"{EVAL_SEED_BASE + seed * 1000}+",
        },
        "games": games,
    }


class VideoWriter:
    """Full-colour frames to .mp4 (OpenCV) or .gif (Pillow)."""

    def __init__(self, path: Path, fps: float) -> None:
        if path.suffix.lower() not in (".mp4", ".gif"):
            raise ValueError(f"video file {str(path)!r} must end in .mp4 or .gif")
        self.path = path
        self.fps = fps
        self.frames: list[np.ndarray] = []
        self._mp4: Any = None
        self.count = 0

    def add(self, rgb: np.ndarray) -> None:
        """rgb: (H, W, 3) uint8."""
        self.count += 1
        if self.path.suffix.lower() == ".gif":
            self.frames.append(rgb.copy())
            return
        import cv2

        if self._mp4 is None:
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            h, w = rgb.shape[:2]
            self._mp4 = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
            if not self._mp4.isOpened():
                raise OSError(f"cannot write video {str(self.path)!r}")
        self._mp4.write(np.ascontiguousarray(rgb[:, :, ::-1]))  # OpenCV wants BGR

    def close(self) -> None:
        if self._mp4 is not None:
            self._mp4.release()
        elif self.frames:
            from PIL import Image

            images = [Image.fromarray(f) for f in self.frames]
            images[0].save(
                self.path,
                save_all=True,
                append_images=images[1:],
                duration=round(1000 / self.fps),
                loop=0,
            )


def play(
    model: ActorCritic,
    cfg: Config,
    episodes: int,
    on_frame: Callable[[np.ndarray], None],
    greedy: bool = True,
    seed: int = 0,
    sticky: float | None = None,
) -> list[dict[str, Any]]:
    """Play whole games one after another, handing every emulator frame (H, W, 3) to on_frame."""
    ecfg = evaluation_config(cfg, sticky=sticky)
    rom = atari_rom(cfg.env_id)
    if rom is None:
        raise CheckpointError(f"play shows Atari games; {cfg.env_id!r} is not one")
    # No automatic restart: the video ends with the last game, not with the next one's start.
    env = AtariVecEnv([AtariGame(ecfg, rom, EVAL_SEED_BASE + seed * 1000)], ecfg, auto_reset=False)
    rgb: np.ndarray | None = None

    def grab(ale: Any) -> None:
        nonlocal rgb
        if rgb is None:
            h, w = ale.getScreenDims()
            rgb = np.empty((h, w, 3), np.uint8)
        ale.getScreenRGB(rgb)
        on_frame(rgb)

    env.games[0].frame_hook = grab
    rng = np.random.default_rng(EVAL_SEED_BASE + seed)
    obs, _ = env.reset()
    games: list[dict[str, Any]] = []
    while len(games) < episodes:
        step = env.step(choose_actions(model, obs, greedy, rng))
        obs = step.obs
        for ep in step.episodes:
            games.append({"score": ep.score, "frames": ep.frames, "truncated": ep.truncated})
            if len(games) < episodes:
                obs, _ = env.reset()
    env.close()
    return games
