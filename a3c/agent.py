"""A trained agent for other people's loops: observations as Gymnasium's Atari pipeline gives them.

    from a3c import Agent
    agent = Agent.load("models/breakout-a3c-v5-150M.pt")
    actions = agent.act(obs)          # obs: (N, 4, 84, 84) uint8 -> actions (N,) int64
    agent.reset(terminated | truncated)

Observations are what `FrameStackObservation(AtariPreprocessing(env), 4)` returns for a
`gymnasium.make("ALE/<Game>-v5", frameskip=1)` environment, batched: (N, 4, 84, 84) uint8,
oldest frame first, pixels 0-255 (`scale_obs=False`). Stable-Baselines3's channels-last stacks
(N, 84, 84, 4) are accepted too. Actions index the environment's action space: the game's
minimal action set (Gymnasium's default), or ALE's full set with `full_action_space=True`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from a3c.config import Config
from a3c.learner import sample_actions
from a3c.model import ActorCritic, State


class Agent:
    """A policy loaded from a checkpoint of `a3c train`, acting on batches of observations.

    Both policies answer the same calls: `act` carries the recurrent policy's state from call
    to call for each of the N environments, and `reset(done)` clears it for the environments
    whose games ended (and, for an agent trained with a lost life as terminal,
    `resets_on_life_loss`, whose lives dropped). The feed-forward policy keeps no state.
    """

    def __init__(
        self,
        model: ActorCritic,
        cfg: Config,
        action_map: np.ndarray | None,
        seed: int = 0,
    ) -> None:
        self.model = model.eval()
        self.config = cfg
        # Index in the environment's action space of each policy output (None: the same).
        self.action_map = action_map
        self.rng = np.random.default_rng(seed)
        self.batch_size: int | None = None
        self.state: State = ()
        self.starts: torch.Tensor | None = None  # (N,): 1 where the next step starts a game

    @property
    def recurrent(self) -> bool:
        """Whether the policy carries state from step to step (the LSTM policy)."""
        return self.model.recurrent

    @property
    def resets_on_life_loss(self) -> bool:
        """Trained with a lost life as the end of an episode: pass lost lives to `reset` too."""
        return self.config.terminal_on_life_loss

    @classmethod
    def load(cls, path: str | Path, full_action_space: bool = False, seed: int = 0) -> Agent:
        """Load a checkpoint (or a run directory's latest). Raises CheckpointError if it is not one.

        full_action_space: the environment was made with `full_action_space=True` (18 actions).
        seed: seeds the sampling of actions when `act(..., greedy=False)`.
        """
        from a3c.checkpoint import load_network, resolve_checkpoint

        model, cfg, _ = load_network(resolve_checkpoint(Path(path)))
        return cls(model, cfg, atari_action_map(cfg, full_action_space), seed)

    @property
    def n_actions(self) -> int:
        """Number of actions the policy chooses among (its outputs, not the environment's)."""
        return self.model.n_actions

    def _batch(self, obs: Any) -> torch.Tensor:
        """Check a batch of observations and bring it to the network's layout (N, C, H, W)."""
        array = np.asarray(obs)
        want = self.model.obs_shape
        if self.model.torso != "atari":
            if array.ndim != 2 or array.shape[1:] != want:
                raise ValueError(f"observations must have shape (N, {want[0]}), got {array.shape}")
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if array.ndim == 4 and array.shape[1:] == (*want[1:], want[0]):
            array = array.transpose(0, 3, 1, 2)  # channels-last stacks (SB3's VecFrameStack)
        if array.ndim != 4 or array.shape[1:] != want:
            shape = ", ".join(map(str, want))
            raise ValueError(
                f"observations must be a batch of frame stacks of shape (N, {shape}) (or "
                f"channels-last), got {array.shape}; for one environment pass obs[None]"
            )
        if array.dtype != np.uint8:
            raise ValueError(
                f"observations must be uint8 pixels 0-255, got {array.dtype} "
                "(use AtariPreprocessing(scale_obs=False))"
            )
        return torch.from_numpy(np.ascontiguousarray(array))

    def probabilities(self, obs: Any) -> np.ndarray:
        """One step of the policy: its action probabilities (N, n_actions) for a batch of
        observations. Like `act`, it moves a recurrent policy's state on by one step."""
        batch = self._batch(obs)
        if self.batch_size is None:
            self.batch_size = len(batch)
            self.state = self.model.initial_state(len(batch))
            self.starts = torch.ones(len(batch))
        elif len(batch) != self.batch_size:
            raise ValueError(
                f"act got {len(batch)} observations after {self.batch_size}; keep the batch "
                "size (one row per environment) or call reset(None) to start over"
            )
        with torch.inference_mode():
            logits, _, self.state = self.model.step(batch, self.state, self.starts)
        self.starts = torch.zeros(len(batch))
        return torch.softmax(logits.float(), dim=1).numpy()

    def act(self, obs: Any, greedy: bool = False) -> np.ndarray:
        """Actions (N,) int64 in the environment's action space for observations (N, ...).

        greedy: the most probable action; otherwise one sampled from the policy, as in training.
        """
        probs = self.probabilities(obs)
        choice = probs.argmax(axis=1) if greedy else sample_actions(probs, self.rng)
        if self.action_map is not None:
            choice = self.action_map[choice]
        return choice.astype(np.int64)

    def reset(self, done: Any = None) -> None:
        """Forget the state of the environments whose games ended (done: (N,) bool), or all.

        Call it after every step with `terminated | truncated` (or'ed with lost lives if
        `resets_on_life_loss`), so that a recurrent policy starts each new game afresh; the
        feed-forward policy has nothing to forget.
        """
        if done is None:
            self.batch_size = None
            return
        mask = np.asarray(done, dtype=bool)
        if self.batch_size is not None and mask.shape != (self.batch_size,):
            raise ValueError(f"reset needs one flag per environment, ({self.batch_size},)")
        if self.starts is not None:
            self.starts[torch.from_numpy(mask)] = 1.0


def atari_action_map(cfg: Config, full_action_space: bool = False) -> np.ndarray | None:
    """For an Atari config, the environment action index of each policy output; else None.

    The policy chooses among ALE actions (the seed's FIRE/RIGHT/LEFT or the minimal set);
    Gymnasium's environments number the minimal set 0..n-1 (or all 18 with full_action_space).
    """
    actions = game_actions(cfg)
    if actions is None:
        return None
    policy, minimal = actions
    if full_action_space:
        return np.array(policy, np.int64)
    return np.array([minimal.index(a) for a in policy], np.int64)


def game_actions(cfg: Config) -> tuple[list[int], list[int]] | None:
    """ALE ids of the policy's actions and of the game's minimal set; None if not Atari."""
    from a3c.games import describe_game

    game = describe_game(cfg.env_id)
    if not game.is_atari:
        return None
    return list(game.actions(cfg.action_set)), list(game.minimal_actions)
