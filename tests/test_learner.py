"""The learner loop's bookkeeping, watched from inside with weights that do not move.

A `FrozenServer` hands out fixed weights and applies nothing, so every rollout's recorded state
can be recomputed exactly from the one before it.
"""

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import a3c.learner as learner
from a3c.config import make_config
from a3c.model import build_model
from a3c.records import Record
from a3c.server import flatten_module_


class FrozenServer:
    """A ParameterServer whose weights never change: pushes only count frames."""

    def __init__(self, params: torch.Tensor) -> None:
        self.params = params
        self.count = 0

    def pull(self, out: torch.Tensor) -> None:
        out.copy_(self.params)

    def push(self, grad: torch.Tensor, frames: int) -> int:
        return self.add_frames(frames)

    def add_frames(self, frames: int) -> int:
        self.count += frames
        return self.count

    def frames(self) -> int:
        return self.count

    def for_learners(self, learner_ids: list[int]) -> "FrozenServer":
        return self


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def put(self, record: Record) -> None:
        self.records.append(record)


def _run(cfg: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], Any]:
    """Run one learner to cfg.frames; returns what each rollout_loss call saw, and the model."""
    model = build_model(cfg)
    params, _ = flatten_module_(model)
    seen: list[dict[str, Any]] = []
    original = learner.rollout_loss

    def spy(net: Any, roll: Any, n: int, cols: slice, c: Any) -> Any:
        seen.append(
            {
                "n": n,
                "obs": roll.obs[: n + 1].clone(),
                "starts": roll.starts[: n + 1].clone(),
                "ends": roll.ends[:n].clone(),
                "state": tuple(s.clone() for s in roll.state),
            }
        )
        return original(net, roll, n, cols, c)

    monkeypatch.setattr(learner, "rollout_loss", spy)
    learner.run_learners(cfg, FrozenServer(params.clone()), [0], Sink(), lambda: False)
    return seen, model


def test_the_lstm_state_goes_on_from_one_rollout_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recall's games last 6 steps and the rollouts 4, so a game's cue and its decision fall in
    different rollouts: only a state carried across the rollout boundary links them. (With
    t_max >= 6 every rollout is one whole game and a learner that resets the state at each
    rollout's start looks correct.)"""
    cfg = make_config(
        "paper",
        overrides={
            "env_id": "a3c/Recall-v0",
            "policy": "lstm",
            "workers": 1,
            "learners_per_process": 1,
            "t_max": 4,
            "frames": 36,
        },
    )
    seen, model = _run(cfg, monkeypatch)
    assert [r["n"] for r in seen[:4]] == [4, 2, 4, 2]  # each game: 4 steps, then its last 2
    carried = 0
    for before, after in itertools.pairwise(seen):
        with torch.no_grad():
            _, _, state = model(before["obs"][:-1], before["state"], before["starts"][:-1])
        if after["starts"][0, 0] == 0:  # mid-game: the state acting had, not a fresh one
            pairs = zip(after["state"], state, strict=True)
            assert all(torch.allclose(a, s, atol=1e-6) for a, s in pairs)
            assert after["state"][0].abs().sum() > 0
            carried += 1
        else:  # a new game: the model resets it itself where `starts` says so
            assert before["ends"][-1, 0] == 1
    assert carried >= 2


@pytest.mark.parametrize("terminal", [True, False])
def test_a_lost_life_ends_the_returns_only_where_the_config_says(
    monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    """Breakout's random play loses lives within a few hundred steps; with
    `terminal_on_life_loss` each lost life is an episode end for learning (no bootstrap across
    it), without it only the game's end is."""
    cfg = make_config(
        "v5",
        overrides={
            "workers": 1,
            "learners_per_process": 1,
            "terminal_on_life_loss": terminal,
            "frames": 6_000,
        },
    )
    lives: list[bool] = []
    record = learner.Rollout.record

    def spy(self: Any, t: int, actions: np.ndarray, step: Any, ended: np.ndarray) -> None:
        lives.append(bool(step.life_lost[0]) and not bool(step.terminals[0]))
        record(self, t, actions, step, ended)

    monkeypatch.setattr(learner.Rollout, "record", spy)
    seen, _ = _run(cfg, monkeypatch)
    ends = [bool(e) for r in seen for e in r["ends"][:, 0]]
    assert len(ends) == len(lives) and sum(lives) >= 1  # a life was lost mid-game
    at_lost_lives = [end for end, lost in zip(ends, lives, strict=True) if lost]
    assert all(at_lost_lives) if terminal else not any(at_lost_lives)


def test_serial_mode_repeats_a_run_exactly_for_a_seed(tmp_path: Path) -> None:
    """One learner in serial mode: the same seed gives the same games and the same weights, and
    another seed does not (the initial weights, the games and the sampling follow the seed)."""
    from a3c.checkpoint import list_checkpoints, load_checkpoint
    from a3c.trainer import Trainer

    def run(name: str, seed: int) -> tuple[list[str], dict[str, torch.Tensor]]:
        cfg = make_config(
            "seed",
            overrides={"workers": 1, "learners_per_process": 1, "frames": 3_000, "seed": seed},
        )
        Trainer(cfg, tmp_path / name, serial=True).run()
        lines = (tmp_path / name / "episodes.csv").read_text().splitlines()
        games = [",".join(line.split(",")[:5]) for line in lines]  # frames … avg_max_prob
        ckpt = load_checkpoint(list_checkpoints(tmp_path / name / "checkpoints")[-1])
        return games, ckpt["model"]

    games, weights = run("a", 7)
    again, weights_again = run("b", 7)
    other, weights_other = run("c", 8)
    assert other != games
    assert len(games) > 2 and games == again
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)
    assert not torch.equal(weights["trunk.0.weight"], weights_other["trunk.0.weight"])
