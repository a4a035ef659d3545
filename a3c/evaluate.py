"""Evaluation and play of a trained agent: the standard protocol, video, and a window."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium
import numpy as np

from a3c.checkpoint import CheckpointError
from a3c.config import Config
from a3c.envs import AtariGame, AtariVecEnv, VecEnv, make_vec_env
from a3c.games import describe_game
from a3c.model import ActorCritic

if TYPE_CHECKING:
    from a3c.agent import Agent

# Evaluation games are seeded from here up; training seeds stay far below (see learner_seed).
EVAL_SEED_BASE = 1_000_000_000
NOOP_MAX = 30
MAX_EPISODE_FRAMES = 108_000  # 30 minutes of play at 60 frames per second


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
        start_unit="step",  # agent steps, whatever the agent trained with: one fixed protocol
        max_episode_frames=max_episode_frames,
        repeat_action_probability=(
            cfg.repeat_action_probability if sticky is None else float(sticky)
        ),
    )


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
    from a3c.agent import Agent

    ecfg = evaluation_config(cfg, max_episode_frames, sticky)
    n_envs = min(episodes, 8)
    env: VecEnv = make_vec_env(ecfg, [EVAL_SEED_BASE + seed * 1000 + i for i in range(n_envs)])
    agent = Agent(model, cfg, None, seed=EVAL_SEED_BASE + seed)  # actions as the policy's
    obs, _ = env.reset()
    games: list[dict[str, Any]] = []
    counting = np.ones(n_envs, bool)  # envs whose current game will be counted
    started = n_envs
    while len(games) < episodes:
        step = env.step(agent.act(obs, greedy))
        agent.reset(step.episode_ends(cfg.terminal_on_life_loss))
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
    result = _summary(cfg.env_id, games)
    result["pipeline"] = "own"
    result["protocol"] = {
        "policy": "greedy" if greedy else "sample",
        "noop_max": NOOP_MAX,
        "noop_unit": "agent step (0 to noop_max)",
        "max_episode_frames": max_episode_frames,
        "frame_skip": cfg.frame_skip,
        "repeat_action_probability": ecfg.repeat_action_probability,
        "fire_on_life_loss": cfg.fire_on_life_loss,
        "seed": seed,
        "seeds": f"{EVAL_SEED_BASE + seed * 1000}+",
        "resize": cfg.resize,
        "start_mode": "noop",
    }
    return result


# --- The ecosystem's own pipeline -----------------------------------------------------------------


def gymnasium_env_id(cfg: Config) -> str:
    """The ALE v5 id of a config's Atari game ('ALE/Breakout-v5'); CheckpointError if none."""
    v5_id = describe_game(cfg.env_id).v5_id
    if v5_id is None:
        raise CheckpointError(
            f"the Gymnasium pipeline plays Atari games; {cfg.env_id!r} is not one"
        )
    return v5_id


def make_gymnasium_atari(
    cfg: Config, sticky: float, max_episode_frames: int, fire: bool, noop_max: int = NOOP_MAX
) -> Any:
    """Gymnasium's standard Atari stack for a config's game, built from Gymnasium's wrappers only.

    `ALE/<Game>-v5` (frameskip 1, sticky actions `sticky`, minimal action set), then
    `AtariPreprocessing` (skip 4 with the max of the last two frames, 84×84 grayscale by area
    averaging, 1-`noop_max` no-ops at reset) and `FrameStackObservation(4)`: observations
    (4, 84, 84) uint8. With `fire`, FIRE is pressed at the start and after each lost life,
    for agents trained with the environment doing so.
    """
    import ale_py
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gymnasium.register_envs(ale_py)
    env = gymnasium.make(
        gymnasium_env_id(cfg),
        frameskip=1,
        repeat_action_probability=sticky,
        max_num_frames_per_episode=max_episode_frames,
    )
    env = AtariPreprocessing(env, noop_max=noop_max, frame_skip=4, screen_size=84)
    if fire:
        env = FireAfterLifeLoss(env)
    return FrameStackObservation(env, cfg.frame_history)


class FireAfterLifeLoss(gymnasium.Wrapper):
    """Press FIRE after reset and after a lost life (the step's reward and frame count in)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.fire = env.unwrapped.get_action_meanings().index("FIRE")
        self.lives = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        _, info = self.env.reset(**kwargs)
        noop_frames = info["episode_frame_number"]
        obs, _, terminated, truncated, info = self.env.step(self.fire)
        if terminated or truncated:  # pragma: no cover - a game cannot end on its first FIRE
            obs, info = self.env.reset()
        self.lives = info["lives"]
        return obs, {**info, "noop_frames": noop_frames}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, raw, terminated, truncated, info = self.env.step(action)
        reward = float(raw)
        if info["lives"] < self.lives and not (terminated or truncated):
            obs, more, terminated, truncated, info = self.env.step(self.fire)
            reward += float(more)
        self.lives = info["lives"]
        return obs, reward, terminated, truncated, info


def evaluate_gymnasium(
    agent: Agent,
    episodes: int = 30,
    greedy: bool = True,
    seed: int = 0,
    max_episode_frames: int = MAX_EPISODE_FRAMES,
    on_episode: Callable[[int, dict[str, Any]], None] | None = None,
    sticky: float = 0.25,
    make_env: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Play whole games through Gymnasium's own Atari pipeline (`make_gymnasium_atari`).

    Nothing of this project's environment code runs: the agent sees what a user's Gymnasium
    loop gives it, through `Agent.act`. Games are seeded from EVAL_SEED_BASE as in `evaluate`.
    `make_env`: another Gymnasium stack to play in (one with `lives` and
    `episode_frame_number` in its info); the protocol in the result then describes the default.
    """

    cfg = agent.config
    fire = cfg.fire_on_life_loss and describe_game(cfg.env_id).has_fire
    n_envs = min(episodes, 8)
    if make_env is None:
        envs = [make_gymnasium_atari(cfg, sticky, max_episode_frames, fire) for _ in range(n_envs)]
    else:
        envs = [make_env() for _ in range(n_envs)]
    base = EVAL_SEED_BASE + seed * 1000
    noops = [0] * n_envs
    lives = [0] * n_envs

    def start(i: int, env_seed: int | None) -> np.ndarray:
        obs, info = envs[i].reset(seed=env_seed)
        noops[i] = int(info.get("noop_frames", info["episode_frame_number"]))
        lives[i] = int(info["lives"])
        return np.asarray(obs)

    obs = np.stack([start(i, base + i) for i in range(n_envs)])
    agent.reset()
    score, steps = np.zeros(n_envs), np.zeros(n_envs, np.int64)
    active = np.ones(n_envs, bool)
    games: list[dict[str, Any]] = []
    started = n_envs
    while len(games) < episodes:
        actions = agent.act(obs, greedy)
        done = np.zeros(n_envs, bool)
        for i in map(int, np.flatnonzero(active)):
            o, reward, terminated, truncated, info = envs[i].step(int(actions[i]))
            score[i] += float(reward)
            steps[i] += 1
            obs[i] = o
            if agent.resets_on_life_loss and info["lives"] < lives[i]:
                done[i] = True  # trained with a lost life as an episode's end
            lives[i] = int(info["lives"])
            if not (terminated or truncated):
                continue
            done[i] = True
            game = {
                "score": float(score[i]),
                "frames": int(info["episode_frame_number"]),
                "steps": int(steps[i]),
                "noops": noops[i],
                "truncated": bool(truncated and not terminated),
            }
            games.append(game)
            if on_episode is not None:
                on_episode(len(games), game)
            score[i], steps[i] = 0.0, 0
            if started < episodes:
                started += 1
                obs[i] = start(i, None)
            else:
                active[i] = False
        agent.reset(done)
    for env in envs:
        env.close()
    result = _summary(cfg.env_id, games)
    result["pipeline"] = "gymnasium"
    result["protocol"] = {
        "policy": "greedy" if greedy else "sample",
        "env": gymnasium_env_id(cfg),
        "wrappers": "AtariPreprocessing, FrameStackObservation"
        + (" (FIRE after reset and lost lives)" if fire else ""),
        "repeat_action_probability": sticky,
        "frame_skip": 4,
        "max_pool_last_two_frames": True,
        "screen_size": 84,
        "resize": "area (cv2.INTER_AREA)",
        "grayscale": True,
        "frame_stack": cfg.frame_history,
        "noop_max": NOOP_MAX,
        "noop_unit": "emulator frame (1 to noop_max)",
        "full_action_space": False,
        "terminal_on_life_loss": False,
        "fire_on_reset_and_life_loss": fire,
        "max_episode_frames": max_episode_frames,
        "seed": seed,
        "seeds": f"{base}+",
    }
    return result


def _summary(env_id: str, games: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [g["score"] for g in games]
    return {
        "env_id": env_id,
        "episodes": len(games),
        "mean": statistics.mean(scores),
        "median": statistics.median(scores),
        "std": statistics.pstdev(scores),
        "min": min(scores),
        "max": max(scores),
        "frames": sum(g["frames"] for g in games),
        "truncated": sum(g["truncated"] for g in games),
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
    from a3c.agent import Agent

    ecfg = evaluation_config(cfg, sticky=sticky)
    if not describe_game(cfg.env_id).is_atari:
        raise CheckpointError(f"play shows Atari games; {cfg.env_id!r} is not one")
    # No automatic restart: the video ends with the last game, not with the next one's start.
    env = AtariVecEnv([AtariGame(ecfg, EVAL_SEED_BASE + seed * 1000)], ecfg, auto_reset=False)
    rgb: np.ndarray | None = None

    def grab(ale: Any) -> None:
        nonlocal rgb
        if rgb is None:
            h, w = ale.getScreenDims()
            rgb = np.empty((h, w, 3), np.uint8)
        ale.getScreenRGB(rgb)
        on_frame(rgb)

    env.games[0].frame_hook = grab
    agent = Agent(model, cfg, None, seed=EVAL_SEED_BASE + seed)
    obs, _ = env.reset()
    games: list[dict[str, Any]] = []
    while len(games) < episodes:
        step = env.step(agent.act(obs, greedy))
        agent.reset(step.episode_ends(cfg.terminal_on_life_loss))
        obs = step.obs
        for ep in step.episodes:
            games.append({"score": ep.score, "frames": ep.frames, "truncated": ep.truncated})
            if len(games) < episodes:
                obs, _ = env.reset()
    env.close()
    return games
