"""Environment stacks: Atari as the seed plays it, and plain Gymnasium vector-observation games.

Both are batched (`VecEnv`): a learner steps all its environments with one array of actions and
gets back arrays, with games restarted automatically, so the learner carries no bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from a3c.games import (
    ALE_FIRE,
    ALE_NOOP,
    FRAME_SIZE,
    describe_game,
)

if TYPE_CHECKING:
    from a3c.config import Config


@dataclass
class EpisodeStats:
    """One finished game: raw (unclipped) score, agent steps, emulator frames, and why it ended."""

    env_index: int
    score: float
    steps: int
    frames: int
    truncated: bool
    start_steps: int = 0


@dataclass
class VecStep:
    """What one batched step returns; arrays have a leading dimension E (environments).

    obs: next observations (the first of a new game where one ended), shape (E, *obs_shape).
    rewards: clipped rewards for learning, shape (E,), float32.
    terminals: the game ended (no bootstrap), shape (E,), bool.
    truncations: the game was cut off by the frame cap (bootstrap from `final_obs`), shape (E,).
    life_lost: a life was lost on this step, shape (E,), bool.
    final_obs: for truncated envs, their last observation before the restart.
    frames_per_env: emulator frames this step consumed, per environment.
    episodes: games that finished on this step.
    """

    obs: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    truncations: np.ndarray
    life_lost: np.ndarray
    final_obs: dict[int, np.ndarray]
    frames_per_env: list[int]
    episodes: list[EpisodeStats] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Emulator frames this step consumed, summed over environments."""
        return sum(self.frames_per_env)

    def episode_ends(self, terminal_on_life_loss: bool) -> np.ndarray:
        """(E,) bool: where an episode of learning ended on this step, the game's end or cut,
        and a lost life where that counts as terminal. Returns are cut there and a recurrent
        policy's state is reset."""
        ended = self.terminals | self.truncations
        return ended | self.life_lost if terminal_on_life_loss else ended


class VecEnv(Protocol):
    """A batch of environments stepped together."""

    num_envs: int
    n_actions: int
    obs_shape: tuple[int, ...]

    def reset(self) -> tuple[np.ndarray, int]:
        """Start every game; returns observations (E, *obs_shape) and frames consumed."""
        ...

    def step(self, actions: np.ndarray) -> VecStep:
        """Apply one action per environment (actions: (E,) int)."""
        ...

    def close(self) -> None:
        """Release the emulators."""
        ...


def make_vec_env(cfg: Config, seeds: list[int]) -> VecEnv:
    """Build one environment of `cfg.env_id` per seed."""
    if describe_game(cfg.env_id).is_atari:
        return AtariVecEnv([AtariGame(cfg, seed) for seed in seeds], cfg)
    return GymVecEnv(cfg, seeds)


def preprocess(frame_a: np.ndarray, frame_b: np.ndarray, resize: str = "bilinear") -> np.ndarray:
    """Pixel-wise max of two grayscale screens (removes flicker), resized to 84×84 uint8.

    frame_a, frame_b: (210, 160) uint8. Returns (84, 84) uint8. 'bilinear' is DQN's resize, 5x
    cheaper than 'area'; 'area' averaging is what Gymnasium's AtariPreprocessing and SB3 use, so
    an agent trained on it sees the same pixels in their pipelines.
    """
    import cv2

    interpolation = cv2.INTER_AREA if resize == "area" else cv2.INTER_LINEAR
    return cv2.resize(
        np.maximum(frame_a, frame_b), (FRAME_SIZE, FRAME_SIZE), interpolation=interpolation
    )


class AtariGame:
    """One ALE emulator with the seed's stack: frame skip with flicker max, FIRE handling, lives.

    Observations are single preprocessed frames (84, 84) uint8; stacking is done by AtariVecEnv.
    """

    def __init__(self, cfg: Config, seed: int) -> None:
        from ale_py import ALEInterface, LoggerMode, roms

        game = describe_game(cfg.env_id)  # validation has checked that cfg fits the game
        assert game.rom is not None, cfg.env_id
        ALEInterface.setLoggerMode(LoggerMode.Error)
        self.ale = ALEInterface()
        self.ale.setInt("random_seed", seed % (2**31))
        self.ale.setFloat("repeat_action_probability", cfg.repeat_action_probability)
        self.ale.setInt("frame_skip", 1)
        path = roms.get_rom_path(game.rom)
        assert path is not None, game.rom  # describe_game has loaded it
        self.ale.loadROM(path)
        self.actions = list(game.actions(cfg.action_set))
        self.can_fire = game.has_fire
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        h, w = self.ale.getScreenDims()
        self._screens = (np.empty((h, w), np.uint8), np.empty((h, w), np.uint8))
        self.lives = 0
        self.score = 0.0
        self.steps = 0
        self.frames = 0
        self.start_steps = 0
        # Called with the emulator after every frame (to record video); None in training.
        self.frame_hook: Callable[[Any], None] | None = None

    def _repeat(self, ale_action: int) -> tuple[float, np.ndarray]:
        """Play one agent step (frame_skip frames); returns raw reward and the processed frame."""
        reward = 0.0
        skip = self.cfg.frame_skip
        before_last, last = self._screens
        for i in range(skip):
            reward += self.ale.act(ale_action)
            if self.frame_hook is not None:
                self.frame_hook(self.ale)
            over = self.ale.game_over()
            if over or i == skip - 1:
                self.ale.getScreenGrayscale(last)
                if i < skip - 1 or skip == 1:
                    before_last[:] = last  # no earlier screen of this step to take the max with
                self.frames += i + 1
                break
            if i == skip - 2:
                self.ale.getScreenGrayscale(before_last)
        return reward, preprocess(before_last, last, self.cfg.resize)

    def reset(self) -> np.ndarray:
        """Start a new game with the random start steps; returns the first frame (84, 84)."""
        self.ale.reset_game()
        self.score, self.steps, self.frames = 0.0, 0, 0
        cfg = self.cfg
        start = ALE_FIRE if cfg.start_mode == "fire" and self.can_fire else ALE_NOOP
        self.start_steps = int(self.rng.integers(cfg.start_steps_min, cfg.start_steps_max + 1))
        if cfg.start_unit == "frame":
            # Single emulator frames, as Gymnasium's AtariPreprocessing: the agent's steps then
            # begin at any phase of the frame skip. Its first frame is the screen as it is then.
            for _ in range(self.start_steps):
                self.score += self.ale.act(start)
                if self.frame_hook is not None:
                    self.frame_hook(self.ale)
            self.frames += self.start_steps
        self.ale.getScreenGrayscale(self._screens[1])
        frame = preprocess(self._screens[1], self._screens[1], cfg.resize)
        for _ in range(self.start_steps if cfg.start_unit == "step" else 0):
            reward, frame = self._repeat(start)
            self.score += reward
            if self.ale.game_over():  # pragma: no cover - a game cannot end during its start
                self.ale.reset_game()
        if cfg.fire_on_life_loss and self.can_fire and start != ALE_FIRE:
            reward, frame = self._repeat(ALE_FIRE)
            self.score += reward
        self.lives = self.ale.lives()
        return frame

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, bool]:
        """One agent step. Returns (frame, raw reward, game over, truncated, life lost).

        After a lost life (and fire_on_life_loss) FIRE is pressed for one more agent step
        inside this call, so the frame returned is the one after that FIRE.
        """
        reward, frame = self._repeat(self.actions[action])
        self.steps += 1
        game_over = self.ale.game_over()
        lives = self.ale.lives()
        life_lost = lives < self.lives
        self.lives = lives
        if life_lost and not game_over and self.cfg.fire_on_life_loss and self.can_fire:
            fire_reward, frame = self._repeat(ALE_FIRE)
            reward += fire_reward
            game_over = self.ale.game_over()
        self.score += reward
        truncated = not game_over and self.frames >= self.cfg.max_episode_frames
        return frame, reward, game_over, truncated, life_lost


class AtariVecEnv:
    """Several AtariGames with frame histories; observations (E, history, 84, 84) uint8."""

    def __init__(self, games: list[AtariGame], cfg: Config, auto_reset: bool = True) -> None:
        self.games = games
        self.auto_reset = auto_reset  # restart a finished game within step()
        self.num_envs = len(games)
        self.n_actions = len(games[0].actions)
        self.obs_shape: tuple[int, ...] = (cfg.frame_history, FRAME_SIZE, FRAME_SIZE)
        self.reward_clip = cfg.reward_clip
        self.history = np.zeros((self.num_envs, *self.obs_shape), np.uint8)

    def _start(self, i: int) -> int:
        frame = self.games[i].reset()
        self.history[i] = frame  # every slot holds the first frame
        return self.games[i].frames

    def reset(self) -> tuple[np.ndarray, int]:
        frames = sum(self._start(i) for i in range(self.num_envs))
        return self.history, frames

    def step(self, actions: np.ndarray) -> VecStep:
        n = self.num_envs
        raw = np.zeros(n, np.float32)
        terminals = np.zeros(n, bool)
        truncations = np.zeros(n, bool)
        life_lost = np.zeros(n, bool)
        final_obs: dict[int, np.ndarray] = {}
        episodes: list[EpisodeStats] = []
        frames = [0] * n
        for i, game in enumerate(self.games):
            before = game.frames
            frame, raw[i], terminals[i], truncations[i], life_lost[i] = game.step(int(actions[i]))
            frames[i] = game.frames - before
            hist = self.history[i]
            if life_lost[i] and game.cfg.fire_on_life_loss:
                hist[:] = frame  # a new life starts a new history, as the seed does
            else:
                hist[:-1] = hist[1:]
                hist[-1] = frame
            if terminals[i] or truncations[i]:
                if truncations[i]:
                    final_obs[i] = hist.copy()
                episodes.append(
                    EpisodeStats(
                        i,
                        game.score,
                        game.steps,
                        game.frames,
                        bool(truncations[i]),
                        game.start_steps,
                    )
                )
                if self.auto_reset:
                    frames[i] += self._start(i)
        clip = self.reward_clip
        rewards = np.clip(raw, -clip, clip) if clip > 0 else raw
        return VecStep(
            self.history, rewards, terminals, truncations, life_lost, final_obs, frames, episodes
        )

    def close(self) -> None:
        self.games.clear()


# --- Gymnasium vector-observation games ----------------------------------------------------------


class GymVecEnv:
    """Gymnasium games stepped as a batch: 1-D observations (CartPole and the like) as they
    come, as float32; 84×84 uint8 frames (`a3c/Catch-v0`) stacked `frame_history` deep."""

    def __init__(self, cfg: Config, seeds: list[int]) -> None:
        import gymnasium

        game = describe_game(cfg.env_id)  # registers this project's own games in this process
        num_envs = len(seeds)
        # A game's own time limit (CartPole-v1: 500 steps) is part of its definition: the cap
        # only shortens it.
        own = gymnasium.spec(cfg.env_id).max_episode_steps
        cap = cfg.max_episode_frames if own is None else min(own, cfg.max_episode_frames)
        self.envs = [gymnasium.make(cfg.env_id, max_episode_steps=cap) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.obs_shape, self.n_actions = game.network_shape(cfg.action_set, cfg.frame_history)
        self.stacked = game.pixels
        self.reward_clip = cfg.reward_clip
        self.seeds = seeds
        dtype = np.uint8 if self.stacked else np.float32
        self.obs = np.zeros((num_envs, *self.obs_shape), dtype)
        self.score = np.zeros(num_envs)
        self.steps = np.zeros(num_envs, np.int64)

    def _observe(self, i: int, obs: Any, first: bool) -> None:
        """Put env i's new observation in place: the newest frame of its stack, or every frame
        of it at the start of a game."""
        if not self.stacked or first:
            self.obs[i] = obs
        else:
            self.obs[i, :-1] = self.obs[i, 1:]
            self.obs[i, -1] = obs

    def reset(self) -> tuple[np.ndarray, int]:
        for i, env in enumerate(self.envs):
            self._observe(i, env.reset(seed=self.seeds[i])[0], first=True)
        return self.obs, 0

    def step(self, actions: np.ndarray) -> VecStep:
        n = self.num_envs
        raw = np.zeros(n, np.float32)
        terminals = np.zeros(n, bool)
        truncations = np.zeros(n, bool)
        final_obs: dict[int, np.ndarray] = {}
        episodes: list[EpisodeStats] = []
        for i, env in enumerate(self.envs):
            obs, raw[i], terminals[i], truncations[i], _ = env.step(int(actions[i]))
            self.score[i] += raw[i]
            self.steps[i] += 1
            self._observe(i, obs, first=False)
            if terminals[i] or truncations[i]:
                if truncations[i] and not terminals[i]:
                    final_obs[i] = self.obs[i].copy()
                else:
                    truncations[i] = False
                steps = int(self.steps[i])
                episodes.append(
                    EpisodeStats(i, float(self.score[i]), steps, steps, bool(truncations[i]))
                )
                self.score[i], self.steps[i] = 0.0, 0
                self._observe(i, env.reset()[0], first=True)
        clip = self.reward_clip
        rewards = np.clip(raw, -clip, clip) if clip > 0 else raw
        return VecStep(
            self.obs,
            rewards,
            terminals,
            truncations,
            np.zeros(n, bool),
            final_obs,
            [1] * n,
            episodes,
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
