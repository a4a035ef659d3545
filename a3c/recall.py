"""Recall: the rewarded action is shown only in a game's first observation.

A vector game that only a policy with memory can win: the first observation shows a cue (-1 or
+1), the next ones are blank, and on the last step the agent must choose the action the cue
named. A feed-forward policy sees the same blank decision screen whatever the cue, so it wins
half its games (mean reward 0); a recurrent policy can win them all (mean reward 1).
Registered with Gymnasium as `a3c/Recall-v0` (see `a3c.games`).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

STEPS = 6  # steps per game: the cue, 4 blank steps, the decision


class RecallEnv(gymnasium.Env[np.ndarray, np.int64]):
    """Observations (3,) float32: [cue, first step, decision step]. Actions: 0 and 1.

    Reward +1 if the action on the decision step is the one the cue named (-1: action 0,
    +1: action 1), else -1; every other step gives 0.
    """

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.cue = 0
        self.t = 0

    def _obs(self) -> np.ndarray:
        first, last = self.t == 0, self.t == STEPS - 1
        return np.array([2 * self.cue - 1 if first else 0, first, last], np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.cue = int(self.np_random.integers(0, 2))
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.t == STEPS - 1:
            return self._obs(), 1.0 if int(action) == self.cue else -1.0, True, False, {}
        self.t += 1
        return self._obs(), 0.0, False, False, {}
