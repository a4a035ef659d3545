"""Any Atari game from its id: one describing step, settings fitted to the game, every ROM."""

import multiprocessing
from pathlib import Path

import ale_py
import gymnasium
import numpy as np
import pytest
from PIL import Image

from a3c.config import ConfigError, make_config
from a3c.envs import make_vec_env
from a3c.games import (
    ALE_FIRE,
    SEED3_ACTIONS,
    UnknownGame,
    all_atari_roms,
    atari_rom,
    describe_game,
)
from a3c.plot import run_game
from tests.helpers import call_a3c, run_a3c

# ale-py ships these ROMs, but ALE can only run them with two players (loading one alone ends
# the process), and Gymnasium registers no single-player id for them.
TWO_PLAYER_ROMS = {"combat", "joust", "maze_craze", "warlords"}


def test_ale_py_ships_more_than_a_hundred_roms_and_two_player_ones_are_refused() -> None:
    roms = all_atari_roms()
    assert len(roms) > 100 and set(roms) >= TWO_PLAYER_ROMS
    for rom in TWO_PLAYER_ROMS:
        with pytest.raises(UnknownGame, match="cannot play it single-player"):
            describe_game(rom)


def _play_rom(rom: str) -> str | None:
    """Start, step and restart one ROM through our environment stack; None, or what went wrong."""
    try:
        game = describe_game(rom)
        # Every game's default settings fit it, short enough to start and end games quickly.
        cfg = make_config("seed", overrides={"env_id": rom, "max_episode_frames": 200})
        obs_shape, n_actions = game.network_shape(cfg.action_set, cfg.frame_history)
        env = make_vec_env(cfg, [len(rom)])
        rng = np.random.default_rng(len(rom))
        try:
            if (env.n_actions, env.obs_shape) != (n_actions, obs_shape):
                return f"built {(env.n_actions, env.obs_shape)}, described {(n_actions, obs_shape)}"
            # Against ale-py's own Gymnasium environment, which shares no code with ours.
            assert game.v5_id is not None  # every ROM ale-py ships has an ALE/…-v5 id
            real = gymnasium.make(game.v5_id)
            meanings = real.unwrapped.get_action_meanings()  # type: ignore[attr-defined]
            real.close()
            if tuple(meanings) != game.action_names:
                return f"described actions {game.action_names}, ale-py's {tuple(meanings)}"
            if cfg.action_set == "seed3":
                if n_actions != 3 or not {"FIRE", "RIGHT", "LEFT"} <= set(meanings):
                    return f"the seed's 3 actions on a game with {meanings}"
            elif n_actions != len(meanings):
                return f"{n_actions} actions, ale-py's minimal set has {len(meanings)}"
            obs, _ = env.reset()
            if obs.shape != (1, *obs_shape) or obs.dtype != np.uint8:
                return f"reset gave {obs.shape} {obs.dtype}"
            ended = False
            for _ in range(60):  # 240 frames: past the 200-frame cap, so each game restarts
                step = env.step(rng.integers(0, n_actions, size=1))
                if step.obs.shape != (1, *obs_shape):
                    return f"step gave {step.obs.shape}"
                ended = ended or bool(step.episodes)
            return None if ended else "no game ended at the 200-frame cap"
        finally:
            env.close()
    except Exception as exc:  # reported per ROM below, with the others
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.slow
def test_every_rom_starts_steps_and_resets_as_described() -> None:
    gymnasium.register_envs(ale_py)
    roms = sorted(set(all_atari_roms()) - TWO_PLAYER_ROMS)
    # Two processes halve the time (each ROM costs about 0.5 s to load, probe and play).
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        problems = dict(zip(roms, pool.map(_play_rom, roms, chunksize=4), strict=True))
    failed = {rom: why for rom, why in problems.items() if why is not None}
    assert not failed, failed
    assert len(problems) == len(all_atari_roms()) - len(TWO_PLAYER_ROMS)


@pytest.mark.parametrize(
    "env_id,sticky",
    [
        ("ALE/Pong-v5", 0.25),
        ("Pong", 0.25),
        ("pong", 0.25),
        ("Pong-v0", 0.25),
        ("PongNoFrameskip-v4", 0.0),
        ("PongDeterministic-v4", 0.0),
        ("Pong-v4", 0.0),
    ],
)
def test_id_styles_name_the_game_and_its_sticky_actions(env_id: str, sticky: float) -> None:
    assert atari_rom(env_id) == "pong"
    cfg = make_config("seed", overrides={"env_id": env_id})
    assert cfg.repeat_action_probability == sticky
    assert describe_game(env_id).v5_id == "ALE/Pong-v5"


@pytest.mark.parametrize(
    "env_id,why",
    [
        ("ALE/Pong-v99", "unknown env id"),
        ("Pong-v9", "unknown env id"),
        ("ALE/Pong-v4", "unknown env id"),
        ("ALE/Pong-ram-v5", "RAM"),
        ("Pong-ramNoFrameskip-v4", "RAM"),
    ],
)
def test_ids_that_are_no_atari_id_or_give_ram_are_refused(env_id: str, why: str) -> None:
    with pytest.raises(UnknownGame, match=why):
        describe_game(env_id)


def test_settings_follow_the_game_unless_the_user_set_them(tmp_path: Path) -> None:
    breakout = describe_game("BreakoutDeterministic-v4")
    assert breakout.needs_fire and breakout.seed3_fits and breakout.lives == 5
    seed = make_config("seed")  # the seed's game keeps the seed's settings
    assert (seed.action_set, seed.start_mode, seed.fire_on_life_loss) == ("seed3", "fire", True)

    pacman = make_config("seed", overrides={"env_id": "ALE/MsPacman-v5"})
    assert not describe_game("ALE/MsPacman-v5").has_fire
    assert pacman.action_set == "minimal" and pacman.start_mode == "noop"
    assert not pacman.fire_on_life_loss and pacman.repeat_action_probability == 0.25

    # Pong has FIRE but does not wait for it: no forced FIRE; the seed's 3 actions do not fit.
    pong = describe_game("PongNoFrameskip-v4")
    assert pong.has_fire and not pong.needs_fire and not pong.seed3_fits
    cfg = make_config("seed", overrides={"env_id": "PongNoFrameskip-v4"})
    assert (cfg.action_set, cfg.start_mode, cfg.fire_on_life_loss) == ("minimal", "noop", False)

    # What a user sets wins: in a file or as an override.
    toml = tmp_path / "c.toml"
    toml.write_text('action_set = "seed3"\nrepeat_action_probability = 0.1\n')
    cfg = make_config("seed", file=toml, overrides={"env_id": "ALE/Pong-v5"})
    assert cfg.action_set == "seed3" and cfg.repeat_action_probability == 0.1
    assert describe_game("ALE/Pong-v5").actions("seed3") == SEED3_ACTIONS


@pytest.mark.parametrize(
    "toml,needle",
    [
        ('action_set = "seed3"', "action_set = 'seed3' needs FIRE, RIGHT and LEFT"),
        ('start_mode = "fire"', "start_mode = 'fire' needs FIRE"),
        ("fire_on_life_loss = true", "fire_on_life_loss = true needs FIRE"),
    ],
)
def test_settings_that_cannot_fit_the_game_are_refused_before_anything_is_written(
    tmp_path: Path, toml: str, needle: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml + "\n")
    run = tmp_path / "run"
    args = ("train", "--env", "ALE/MsPacman-v5", "--config", str(config), "--frames", "1000")
    result = call_a3c(*args, "--run-dir", str(run))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and needle in result.stderr
    assert "MsPacman" in result.stderr and "NOOP, UP" in result.stderr  # what it does have
    assert not run.exists()


@pytest.mark.parametrize(
    "env_id,needle",
    [
        ("ALE/Nope-v5", "unknown env id 'ALE/Nope-v5'"),
        ("Combat", "cannot play it single-player"),
        ("FrozenLake-v1", "1-D Box observations"),
    ],
)
def test_unknown_or_unplayable_games_are_refused(tmp_path: Path, env_id: str, needle: str) -> None:
    run = tmp_path / "run"
    result = call_a3c("train", "--env", env_id, "--frames", "1000", "--run-dir", str(run))
    assert result.returncode == 2 and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not run.exists()
    with pytest.raises(ConfigError, match=needle):
        make_config("seed", overrides={"env_id": env_id})


@pytest.mark.slow
def test_a_game_without_fire_trains_evaluates_and_plays(tmp_path: Path) -> None:
    run = tmp_path / "pacman"
    args = ("--env", "ALE/MsPacman-v5", "--workers", "1", "--learners-per-process", "1")
    result = run_a3c("train", *args, "--frames", "3000", "--run-dir", str(run), timeout=600)
    assert result.returncode == 0, result.stderr
    assert ALE_FIRE not in describe_game("ALE/MsPacman-v5").minimal_actions
    evaluation = run_a3c("evaluate", str(run), "--episodes", "1", "--max-frames", "2000")
    assert evaluation.returncode == 0, evaluation.stderr
    gym = run_a3c(
        "evaluate", str(run), "--episodes", "1", "--max-frames", "2000", "--pipeline", "gymnasium"
    )
    assert gym.returncode == 0, gym.stderr
    video = tmp_path / "pacman.mp4"
    play = run_a3c("play", str(run), "--video", str(video), timeout=600)
    assert play.returncode == 0, play.stderr
    assert video.stat().st_size > 1000

    # plot: runs of two games get one panel each.
    breakout = tmp_path / "breakout"
    breakout.mkdir()
    (breakout / "episodes.csv").write_text((run / "episodes.csv").read_text())
    (breakout / "config.json").write_text('{"env_id": "BreakoutNoFrameskip-v4"}')
    assert (run_game(run), run_game(breakout)) == ("MsPacman", "Breakout")
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    assert run_a3c("plot", str(run), "-o", str(one), "--window", "2").returncode == 0
    result = run_a3c("plot", str(run), str(breakout), "-o", str(two), "--window", "2")
    assert result.returncode == 0, result.stderr
    with Image.open(one) as single, Image.open(two) as double:
        assert double.size[0] > 1.2 * single.size[0]  # two panels side by side


def test_catch_is_a_pixel_game_stacked_like_atari() -> None:
    cfg = make_config("seed", overrides={"env_id": "a3c/Catch-v0"})
    game = describe_game("a3c/Catch-v0")
    assert game.pixels and not game.is_atari and cfg.torso == "atari"
    assert game.network_shape(cfg.action_set, cfg.frame_history) == ((4, 84, 84), 3)
    env = make_vec_env(cfg, [1, 2])
    obs, _ = env.reset()
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
    assert (obs[:, 0] == obs[:, 3]).all()  # a new game fills the stack with its first frame
    rng = np.random.default_rng(0)
    scores: list[float] = []
    for _ in range(19 * 60):
        before = env.step(rng.integers(0, 3, size=2)).obs.copy()
        scores += [e.score for e in env.step(np.zeros(2, np.int64)).episodes]
        assert before.shape == (2, 4, 84, 84)
    assert set(scores) <= {-1.0, 1.0} and len(scores) >= 100
    assert -0.9 < float(np.mean(scores)) < -0.2  # random play catches about one ball in four
    with pytest.raises(ConfigError, match="84×84 frames; it needs torso = 'atari'"):
        make_config("seed", overrides={"env_id": "a3c/Catch-v0", "torso": "mlp"})


def test_a_registered_game_that_cannot_be_made_is_refused_in_one_line() -> None:
    # As with LunarLander-v3 without Box2D: Gymnasium knows the id, but making it fails.
    gymnasium.register("a3c-test/Unmakeable-v0", entry_point="a3c_no_such_module:Game")
    with pytest.raises(ConfigError, match="'a3c-test/Unmakeable-v0' cannot be made here"):
        make_config("seed", overrides={"env_id": "a3c-test/Unmakeable-v0"})
