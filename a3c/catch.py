"""Catch: a ball falls down an 84×84 screen and a paddle must be under it when it lands.

A pixel game small enough to learn in about a minute on two cores with the seed's network, so
that the tests can train the whole pixel path (frame stack, convolutional trunk, the `seed`
preset's optimizer) and fail on a broken bootstrap, a sign error or unshared parameters.
Registered with Gymnasium as `a3c/Catch-v0` (see `a3c.games`).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

SIZE = 84
BALL = 4  # the ball is BALL×BALL pixels and falls BALL pixels a step
PADDLE = 16  # the paddle is PADDLE×BALL pixels on the bottom rows and moves BALL pixels a step


class CatchEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One ball per game: +1 if the paddle is under it when it reaches the bottom, else -1.

    Observations: (84, 84) uint8, ball and paddle at 255 on black. Actions: 0 stay, 1 left,
    2 right. A game lasts 20 steps; a random policy catches about one ball in four.
    """

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Box(0, 255, (SIZE, SIZE), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(3)
        self.ball_x = self.ball_y = self.paddle_x = 0

    def _screen(self) -> np.ndarray:
        screen = np.zeros((SIZE, SIZE), np.uint8)
        screen[self.ball_y : self.ball_y + BALL, self.ball_x : self.ball_x + BALL] = 255
        screen[SIZE - BALL :, self.paddle_x : self.paddle_x + PADDLE] = 255
        return screen

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.ball_x = int(self.np_random.integers(0, SIZE // BALL)) * BALL
        self.ball_y = 0
        self.paddle_x = (SIZE - PADDLE) // 2
        return self._screen(), {}

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        move = (0, -BALL, BALL)[int(action)]
        self.paddle_x = min(max(self.paddle_x + move, 0), SIZE - PADDLE)
        self.ball_y += BALL
        landed = self.ball_y >= SIZE - 2 * BALL  # the row just above the paddle
        reward = 0.0
        if landed:
            caught = self.paddle_x <= self.ball_x < self.paddle_x + PADDLE
            reward = 1.0 if caught else -1.0
        return self._screen(), reward, landed, False, {}
