"""Several environments and learners per process: ordering, boundaries, FIRE per environment."""

from typing import Any

import numpy as np
import pytest
import torch

from a3c.config import make_config
from a3c.games import ALE_FIRE, ALE_LEFT, ALE_NOOP, ALE_RIGHT
from a3c.learner import Rollout, rollout_loss, sample_actions
from a3c.model import ActorCritic
from tests.test_envs import RecordingALE, atari_env
from tests.test_losses import _KnownValues


def test_each_environment_gets_its_own_action_in_order() -> None:
    env = atari_env(make_config("seed", overrides={"action_set": "minimal"}), [1, 2, 3])
    env.reset()
    recorders = [RecordingALE.install(game) for game in env.games]
    step = env.step(np.array([2, 3, 0]))
    assert [r.actions for r in recorders] == [[ALE_RIGHT] * 4, [ALE_LEFT] * 4, [ALE_NOOP] * 4]
    assert step.obs.shape == (3, 4, 84, 84)
    assert step.frames_per_env == [4, 4, 4]


def test_fire_after_a_lost_life_only_in_the_environment_that_lost_it() -> None:
    cfg = make_config("seed", overrides={"action_set": "minimal"})
    env = atari_env(cfg, [5, 6])
    env.reset()
    recorders = [RecordingALE.install(game) for game in env.games]
    # Env 0 does nothing and loses its first life; env 1 keeps firing, serving again and again
    # is harmless, but it must never get an extra FIRE step of its own.
    for _ in range(2000):
        for recorder in recorders:
            recorder.actions.clear()
        before = env.history[1].copy()
        step = env.step(np.array([0, 1]))
        if step.life_lost[0] and not step.life_lost[1]:
            break
    else:
        pytest.fail("env 0 never lost a life alone")
    assert recorders[0].actions == [ALE_NOOP] * 4 + [ALE_FIRE] * 4
    assert recorders[1].actions == [ALE_FIRE] * 4
    assert step.frames_per_env == [8, 4]
    assert all((step.obs[0][i] == step.obs[0][-1]).all() for i in range(4))  # history restarted
    assert (step.obs[1][:3] == before[1:]).all()  # history shifted by one frame


def test_rollout_columns_and_episode_boundaries() -> None:
    """Two environments in one rollout: returns stay per column; an end in one stops only it."""
    cfg = make_config("seed", overrides={"gamma": 0.5, "entropy_coef": 0.0})
    roll = Rollout.allocate(t_max=2, num_envs=2, obs_shape=(1,), dtype=torch.float32)
    roll.obs[:, 0, 0] = torch.tensor([0.0, 0.0, 8.0])  # env 0: V(s2) = 8
    roll.obs[:, 1, 0] = torch.tensor([0.0, 0.0, 100.0])  # env 1: V(s2) = 100, but it ended
    roll.rewards[:] = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    roll.ends[1, 1] = 1.0
    model = _KnownValues()
    _, both = rollout_loss(model, roll, 2, slice(0, 2), cfg)  # type: ignore[arg-type]
    # env 0: R = [1 + 0.5 * 5, 1 + 0.5 * 8] = [3.5, 5]; env 1: [1.5, 1]; all values are 0.
    expected = (3.5**2 + 5**2 + 1.5**2 + 1**2) / 4
    assert both["value"] == pytest.approx(expected)
    _, only_second = rollout_loss(model, roll, 2, slice(1, 2), cfg)  # type: ignore[arg-type]
    assert only_second["value"] == pytest.approx((1.5**2 + 1**2) / 2)


def test_sample_actions() -> None:
    rng = np.random.default_rng(0)
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], np.float32)
    assert sample_actions(onehot, rng).tolist() == [1, 2, 0]
    probs = np.tile(np.array([[0.2, 0.5, 0.3]], np.float32), (20000, 1))
    counts = np.bincount(sample_actions(probs, rng), minlength=3) / 20000
    assert np.allclose(counts, [0.2, 0.5, 0.3], atol=0.015)


def test_bfloat16_learning_pass_close_to_float32() -> None:
    torch.manual_seed(0)
    model = ActorCritic((4, 84, 84), 3)
    roll = Rollout.allocate(t_max=5, num_envs=2, obs_shape=(4, 84, 84), dtype=torch.uint8)
    roll.obs.random_(0, 255)
    roll.rewards.uniform_(-1, 1)
    losses: dict[str, Any] = {}
    for precision in ("float32", "bfloat16"):
        cfg = make_config("seed", overrides={"learn_precision": precision})
        loss, _ = rollout_loss(model, roll, 5, slice(0, 2), cfg)
        assert loss.dtype == torch.float32
        losses[precision] = loss.item()
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=0.05, abs=0.02)
