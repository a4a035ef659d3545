"""The Atari stack: shapes, flicker max, start steps, FIRE after a lost life, actions, rewards."""

from typing import Any

import numpy as np
import pytest

from a3c.config import Config, ConfigError, make_config
from a3c.envs import AtariGame, AtariVecEnv, make_vec_env, preprocess
from a3c.games import ALE_FIRE, ALE_LEFT, ALE_NOOP, ALE_RIGHT, atari_rom


class RecordingALE:
    """Wraps an ALEInterface, recording every action and optionally inflating rewards."""

    def __init__(self, ale: Any, bonus: float = 0.0) -> None:
        self._ale = ale
        self.actions: list[int] = []
        self.bonus = bonus

    def act(self, action: int) -> float:
        self.actions.append(int(action))
        return float(self._ale.act(action)) + self.bonus

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ale, name)

    @classmethod
    def install(cls, game: AtariGame, bonus: float = 0.0) -> "RecordingALE":
        """Put a recorder between `game` and its emulator; returns the recorder."""
        recorder = cls(game.ale, bonus)
        game.ale = recorder  # type: ignore[assignment]  # stands in for the ALEInterface
        return recorder


def atari_env(cfg: Config, seeds: list[int]) -> AtariVecEnv:
    """`make_vec_env` for an Atari game, whose games and histories the tests reach into."""
    env = make_vec_env(cfg, seeds)
    assert isinstance(env, AtariVecEnv)
    return env


def _env(**overrides: Any) -> AtariVecEnv:
    return atari_env(make_config("seed", overrides=overrides), [123])


def test_observation_shape_and_dtype() -> None:
    env = _env()
    obs, frames = env.reset()
    assert obs.shape == (1, 4, 84, 84) and obs.dtype == np.uint8
    assert frames >= 4  # at least one FIRE start step of 4 frames
    step = env.step(np.array([1]))
    assert step.obs.shape == (1, 4, 84, 84) and step.obs.dtype == np.uint8
    assert step.frames == 4
    assert env.n_actions == 3


def test_flicker_max_keeps_objects_from_both_frames() -> None:
    a = np.zeros((210, 160), np.uint8)
    b = np.zeros((210, 160), np.uint8)
    a[20:30, 20:30] = 200  # an object only in the first frame
    b[150:160, 120:130] = 100  # another only in the second
    out = preprocess(a, b)
    assert out.shape == (84, 84) and out.dtype == np.uint8
    assert out[10, 12] == 200 and out[62, 64] == 100
    assert out[40, 70] == 0


def test_seed_action_mapping_and_minimal_set() -> None:
    assert _env().games[0].actions == [ALE_FIRE, ALE_RIGHT, ALE_LEFT]
    assert _env(action_set="minimal").games[0].actions == [ALE_NOOP, ALE_FIRE, ALE_RIGHT, ALE_LEFT]


def test_random_fire_start_steps_within_range() -> None:
    env = _env()
    game = env.games[0]
    ale = RecordingALE.install(game)
    counts = set()
    for _ in range(8):
        ale.actions.clear()
        game.reset()
        assert set(ale.actions) == {ALE_FIRE}
        assert len(ale.actions) % 4 == 0
        counts.add(len(ale.actions) // 4)
    assert all(1 <= c <= 30 for c in counts) and len(counts) > 1


def test_noop_starts_then_fire() -> None:
    env = _env(action_set="minimal", start_mode="noop", start_steps_min=3, start_steps_max=3)
    game = env.games[0]
    ale = RecordingALE.install(game)
    game.reset()
    assert ale.actions == [ALE_NOOP] * 12 + [ALE_FIRE] * 4


def test_v5_starts_count_emulator_frames_and_reach_every_phase_of_the_skip() -> None:
    cfg = make_config("v5")
    assert (cfg.start_unit, cfg.start_steps_min, cfg.start_steps_max) == ("frame", 1, 30)
    env = atari_env(cfg, [7])
    game = env.games[0]
    ale = RecordingALE.install(game)
    phases = set()
    for _ in range(12):
        ale.actions.clear()
        game.reset()
        assert ale.actions == [ALE_NOOP] * game.start_steps  # no FIRE: v5 serves itself
        assert 1 <= game.start_steps <= 30 and game.frames == game.start_steps
        phases.add(game.start_steps % 4)
    assert phases == {0, 1, 2, 3}
    game.step(1)
    assert game.frames == game.start_steps + 4  # whole agent steps from there


def test_fire_pressed_and_history_reset_after_lost_life() -> None:
    env = _env(action_set="minimal")
    env.reset()
    game = env.games[0]
    ale = RecordingALE.install(game)
    noop = np.array([0])
    for _ in range(2000):  # doing nothing loses a life within a few hundred steps
        ale.actions.clear()
        lives = game.lives
        step = env.step(noop)
        if step.life_lost[0]:
            break
    else:
        pytest.fail("no life was lost")
    assert game.lives == lives - 1
    assert ale.actions == [ALE_NOOP] * 4 + [ALE_FIRE] * 4
    assert step.frames == 8
    history = step.obs[0]
    assert all((history[i] == history[-1]).all() for i in range(4))
    assert not step.terminals[0]


def test_rewards_clipped_but_raw_score_kept() -> None:
    env = _env()
    env.reset()
    game = env.games[0]
    RecordingALE.install(game, bonus=3.0)  # every frame pays 3: 12 per agent step
    start_score = game.score
    step = env.step(np.array([1]))
    assert step.rewards[0] == 1.0
    assert game.score - start_score >= 12.0


def test_frame_cap_truncates_and_restarts() -> None:
    env = _env(max_episode_frames=200, start_steps_min=1, start_steps_max=1)
    env.reset()
    for _ in range(100):
        step = env.step(np.array([1]))
        if step.episodes:
            break
    assert step.truncations[0] and not step.terminals[0]
    assert step.episodes[0].truncated and step.episodes[0].frames >= 200
    assert 0 in step.final_obs and step.final_obs[0].shape == (4, 84, 84)


def test_env_ids() -> None:
    for env_id in ("BreakoutDeterministic-v4", "BreakoutNoFrameskip-v4", "ALE/Breakout-v5"):
        assert atari_rom(env_id) == "breakout"
    assert atari_rom("ALE/MontezumaRevenge-v5") == "montezuma_revenge"
    assert atari_rom("CartPole-v1") is None
    with pytest.raises(ConfigError, match="unknown env id 'Nope-v0'"):
        make_config("seed", overrides={"env_id": "Nope-v0"})
    assert make_config("seed", overrides={"env_id": "CartPole-v1"}).torso == "mlp"
    with pytest.raises(ConfigError, match="torso = 'mlp'"):
        make_config("seed", overrides={"env_id": "CartPole-v1", "torso": "atari"})
