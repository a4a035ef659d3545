"""What a game is, found once, before a run writes anything: its ROM, actions, FIRE, lives, input.

`describe_game(env_id)` is the one place that opens a game to look at it. Config validation,
the trainer, evaluation, play and resume all ask it (the answer is cached per process), so no
probe environment is built anywhere else. This module imports nothing of the project's, so
`config` and `envs` can both use it without an import circle.

Gymnasium Atari ids come in several styles; each names a ROM and implies sticky actions:

| id style | example | sticky actions (repeat_action_probability) |
|---|---|---|
| ALE v5 | `ALE/Pong-v5` | 0.25 |
| bare name (ALE's current default) | `Pong` | 0.25 |
| gym v0 | `Pong-v0`, `PongNoFrameskip-v0` | 0.25 |
| gym v4 | `Pong-v4`, `PongNoFrameskip-v4`, `PongDeterministic-v4` | 0 |

Frame skipping is always this project's own (`frame_skip`, 4 by default), whatever the id says.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FRAME_SIZE = 84
# Index of each ALE action by name, as ALE numbers the full action set.
ALE_NOOP, ALE_FIRE, ALE_RIGHT, ALE_LEFT = 0, 1, 3, 4
# The seed's three actions (stay, right, left) mapped onto the game's FIRE, RIGHT, LEFT.
SEED3_ACTIONS = (ALE_FIRE, ALE_RIGHT, ALE_LEFT)
# The seed's actions make sense where the game is a paddle game like Breakout: its minimal set is
# exactly these, so that "stay" can be FIRE (which only serves the ball).
SEED3_GAME_ACTIONS = (ALE_NOOP, ALE_FIRE, ALE_RIGHT, ALE_LEFT)
# Frames of NOOP after which a game that has not moved is taken to wait for FIRE.
_FIRE_PROBE_FRAMES = (1000, 2000)


class UnknownGame(ValueError):
    """An env id names no game this project can train on; the message says what would do."""


@dataclass(frozen=True)
class GameInfo:
    """One game as the trainer sees it.

    rom: ALE ROM id ('breakout'); None for a Gymnasium game with vector observations.
    v5_id: the game's id in Gymnasium's ALE v5 family ('ALE/Breakout-v5'); None if not Atari.
    sticky: the repeat_action_probability the id implies (see the module's table).
    minimal_actions: ALE ids of the game's minimal action set (Atari), or range(n) otherwise.
    action_names: their names ('NOOP', 'FIRE', ...).
    has_fire: FIRE is among the minimal actions.
    needs_fire: the game waits for FIRE to start play (Breakout, Video Pinball): its screen does
        not change over 1,000 frames of NOOP.
    lives: lives at the start of a game (0 where the game has none).
    observation_shape: a single observation before frame stacking: (84, 84) for Atari (gray,
        resized) and other pixel games, (n,) for vector games.
    """

    env_id: str
    rom: str | None
    v5_id: str | None
    sticky: float
    minimal_actions: tuple[int, ...]
    action_names: tuple[str, ...]
    has_fire: bool
    needs_fire: bool
    lives: int
    observation_shape: tuple[int, ...]

    @property
    def is_atari(self) -> bool:
        return self.rom is not None

    @property
    def pixels(self) -> bool:
        """Observations are 84×84 gray frames (Atari, or a Gymnasium pixel game): stacked, and
        read by the convolutional torso."""
        return self.observation_shape == (FRAME_SIZE, FRAME_SIZE)

    @property
    def seed3_fits(self) -> bool:
        """The seed's 3 actions make sense here (a Breakout-like action set)."""
        return self.minimal_actions == SEED3_GAME_ACTIONS

    def actions(self, action_set: str) -> tuple[int, ...]:
        """ALE ids (Atari) or action indices (vector games) of the policy's outputs, in order."""
        if self.is_atari and action_set == "seed3":
            return SEED3_ACTIONS
        return self.minimal_actions

    def network_shape(self, action_set: str, frame_history: int) -> tuple[tuple[int, ...], int]:
        """(input shape, number of outputs) of the network for this game: (4, 84, 84), 3 say."""
        if self.pixels:
            return (frame_history, FRAME_SIZE, FRAME_SIZE), len(self.actions(action_set))
        return self.observation_shape, len(self.minimal_actions)


def atari_rom(env_id: str) -> str | None:
    """The ALE ROM an env id names, or None: 'BreakoutDeterministic-v4', 'ALE/Breakout-v5',
    'Breakout' and 'breakout' all name 'breakout'; 'ALE/TicTacToe3D-v5' names 'tic_tac_toe_3d'."""
    name = env_id.split("/", 1)[1] if env_id.startswith("ALE/") else env_id
    name = re.sub(r"-v\d+$", "", name)
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)
    name = re.sub(r"-ram$", "", name)
    return _roms_by_key().get(name.replace("_", "").lower())


@functools.cache
def _roms_by_key() -> dict[str, str]:
    """ROM ids by their letters and digits in lower case ('tictactoe3d' -> 'tic_tac_toe_3d')."""
    from ale_py import roms

    return {rom.replace("_", ""): rom for rom in roms.get_all_rom_ids()}


def id_sticky(env_id: str) -> float:
    """The sticky-action probability an Atari id implies: 0 for gym's v4 ids, else 0.25."""
    return 0.0 if re.search(r"-v4$", env_id) and not env_id.startswith("ALE/") else 0.25


@functools.cache
def _v5_ids() -> dict[str, str]:
    """ROM id -> Gymnasium's ALE v5 id, from Gymnasium's own registry."""
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    found = {}
    for env_id in gymnasium.registry:
        if env_id.startswith("ALE/") and env_id.endswith("-v5") and "-ram" not in env_id:
            rom = atari_rom(env_id)
            if rom is not None:
                found[rom] = env_id
    return found


# The id families of ale-py and gym: ALE/Pong-v5; Pong-v0/-v4 with NoFrameskip or Deterministic
# (gym's, which ale-py 0.12 no longer registers all of); or the bare game name.
_ATARI_ID = re.compile(r"^(ALE/\w+-v5|[A-Za-z0-9]+(NoFrameskip|Deterministic)?-v[04]|\w+)$")


@functools.cache
def describe_game(env_id: str) -> GameInfo:
    """Open the game once and describe it; raises UnknownGame if this project cannot train it."""
    rom = atari_rom(env_id)
    if rom is None:
        return _describe_vector(env_id)
    if "-ram" in env_id:
        raise UnknownGame(
            f"env id {env_id!r} gives the console's RAM; this project learns from the screen: "
            f"use {_v5_ids().get(rom, 'ALE/Pong-v5')!r}"
        )
    if not _ATARI_ID.match(env_id):
        raise UnknownGame(
            f"unknown env id {env_id!r}; Atari ids look like 'ALE/Pong-v5', 'Pong-v4', "
            "'PongNoFrameskip-v4', 'PongDeterministic-v4' or 'Pong'"
        )
    return _describe_atari(env_id, rom)


def _describe_atari(env_id: str, rom: str) -> GameInfo:
    import numpy as np
    from ale_py import Action, ALEInterface, LoggerMode, roms

    v5_id = _v5_ids().get(rom)
    if v5_id is None:  # loading it would end the process: ALE exits on ROMs it cannot run alone
        raise UnknownGame(
            f"ale-py ships the ROM {rom!r} ({env_id!r}) but cannot play it single-player; "
            f"choose one of its {len(_v5_ids())} single-player games, e.g. 'ALE/Pong-v5'"
        )
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    path = roms.get_rom_path(rom)
    if path is None:  # pragma: no cover - every listed ROM ships with ale-py
        raise UnknownGame(f"ale-py lists the ROM {rom!r} but does not ship it")
    ale.loadROM(path)
    ale.reset_game()
    minimal = ale.getMinimalActionSet()
    lives = ale.lives()
    screens = []
    for frame in range(1, _FIRE_PROBE_FRAMES[-1] + 1):
        ale.act(Action.NOOP)
        if frame in _FIRE_PROBE_FRAMES:
            screens.append(ale.getScreenGrayscale().copy())
    has_fire = ALE_FIRE in [a.value for a in minimal]
    return GameInfo(
        env_id=env_id,
        rom=rom,
        v5_id=v5_id,
        sticky=id_sticky(env_id),
        minimal_actions=tuple(a.value for a in minimal),
        action_names=tuple(a.name for a in minimal),
        has_fire=has_fire,
        needs_fire=has_fire and bool(np.array_equal(screens[0], screens[1])),
        lives=int(lives),
        observation_shape=(FRAME_SIZE, FRAME_SIZE),
    )


def register_own_games() -> None:
    """Register this project's own Gymnasium games (`a3c/Catch-v0`, `a3c/Recall-v0`), once per
    process."""
    import gymnasium

    if "a3c/Catch-v0" not in gymnasium.registry:
        gymnasium.register("a3c/Catch-v0", entry_point="a3c.catch:CatchEnv")
    if "a3c/Recall-v0" not in gymnasium.registry:
        gymnasium.register("a3c/Recall-v0", entry_point="a3c.recall:RecallEnv")


def _describe_vector(env_id: str) -> GameInfo:
    import gymnasium
    import numpy as np

    register_own_games()
    try:
        spec = gymnasium.spec(env_id)
    except gymnasium.error.Error:
        raise UnknownGame(
            f"unknown env id {env_id!r}; use an Atari game such as 'ALE/Pong-v5', "
            "'BreakoutNoFrameskip-v4' or 'Seaquest', or a registered Gymnasium id with vector "
            "observations such as 'CartPole-v1'"
        ) from None
    try:
        env = gymnasium.make(spec.id)
    except (gymnasium.error.Error, ImportError) as err:
        raise UnknownGame(f"env id {env_id!r} cannot be made here: {err}") from None
    try:
        obs, act = env.observation_space, env.action_space
        shape = obs.shape or ()
        box = isinstance(obs, gymnasium.spaces.Box)
        frames = box and shape == (FRAME_SIZE, FRAME_SIZE) and obs.dtype == np.uint8
        if not (box and (len(shape) == 1 or frames) and isinstance(act, gymnasium.spaces.Discrete)):
            raise UnknownGame(
                f"env id {env_id!r} must have 1-D Box observations or 84×84 uint8 frames, and "
                "Discrete actions (or be an Atari game)"
            )
        n = int(act.n)
    finally:
        env.close()
    return GameInfo(
        env_id=env_id,
        rom=None,
        v5_id=None,
        sticky=0.0,
        minimal_actions=tuple(range(n)),
        action_names=tuple(str(i) for i in range(n)),
        has_fire=False,
        needs_fire=False,
        lives=0,
        observation_shape=tuple(int(d) for d in shape),
    )


def all_atari_roms() -> list[str]:
    """Every ROM id ale-py ships, sorted."""
    from ale_py import roms

    return sorted(roms.get_all_rom_ids())


__all__ = [
    "ALE_FIRE",
    "ALE_LEFT",
    "ALE_NOOP",
    "ALE_RIGHT",
    "FRAME_SIZE",
    "SEED3_ACTIONS",
    "GameInfo",
    "UnknownGame",
    "all_atari_roms",
    "atari_rom",
    "describe_game",
    "id_sticky",
    "register_own_games",
]
