"""Presets, config files and the one validation step; bad input exits 2 with one clear line."""

import argparse
from pathlib import Path

import pytest

from a3c.config import (
    PRESET_SUMMARIES,
    PRESETS,
    Config,
    ConfigError,
    learner_groups,
    make_config,
    resume_config,
)
from tests.helpers import call_a3c, run_a3c


def test_seed_preset_is_the_seed() -> None:
    cfg = make_config("seed")
    assert cfg == Config()
    assert (cfg.workers, cfg.t_max, cfg.gamma, cfg.entropy_coef) == (8, 20, 0.99, 0.01)
    assert (cfg.lr, cfg.rms_alpha, cfg.rms_eps, cfg.rms_eps_inside_sqrt) == (
        2.5e-4,
        0.99,
        0.01,
        False,
    )
    assert (cfg.action_set, cfg.start_mode, cfg.start_steps_min, cfg.start_steps_max) == (
        "seed3",
        "fire",
        1,
        30,
    )
    assert cfg.checkpoint_interval_s == 600


def test_paper_preset() -> None:
    cfg = make_config("paper")
    assert (cfg.workers, cfg.t_max, cfg.lr, cfg.lr_schedule) == (16, 5, 7e-4, "linear")
    assert (cfg.rms_eps, cfg.rms_eps_inside_sqrt, cfg.value_coef, cfg.max_grad_norm) == (
        0.1,
        True,
        0.5,
        40.0,
    )
    assert (cfg.action_set, cfg.start_mode, cfg.start_steps_max) == ("minimal", "noop", 30)
    assert set(PRESETS) == {"seed", "paper", "v5", "atari"}
    assert set(PRESET_SUMMARIES) == set(PRESETS)  # every preset is explained in --help


def test_v5_preset_is_the_standard_protocol() -> None:
    cfg = make_config("v5")
    assert (cfg.env_id, cfg.repeat_action_probability, cfg.resize) == (
        "ALE/Breakout-v5",
        0.25,
        "area",
    )
    assert (cfg.start_mode, cfg.fire_on_life_loss, cfg.action_set) == ("noop", False, "seed3")
    assert cfg.terminal_on_life_loss and cfg.frames == 150_000_000
    assert (cfg.t_max, cfg.lr, cfg.rms_eps, cfg.rms_eps_inside_sqrt) == (20, 7e-4, 0.1, True)
    assert (cfg.lr_schedule, cfg.max_grad_norm, cfg.workers) == ("linear", 40.0, 8)


def test_atari_preset_is_v5_with_a_normalised_optimizer_and_background_subtracted() -> None:
    atari, v5 = make_config("atari", overrides={"env_id": "ALE/Pong-v5"}), make_config("v5")
    assert (atari.rms_eps, atari.lr, atari.frames) == (1e-5, 2.5e-4, 20_000_000)
    assert (atari.pixel_input, v5.pixel_input) == ("background", "scale")
    differ = {"rms_eps", "lr", "frames", "preset", "env_id", "action_set", "pixel_input"}
    assert {k: v for k, v in atari.to_dict().items() if k not in differ} == {
        k: v for k, v in v5.to_dict().items() if k not in differ
    }
    assert atari.action_set == "minimal"  # Pong's 6 actions: the seed's 3 do not fit it


def test_overrides_and_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("t_max = 7\nlr = 1\n")  # an int where a float is due is fine
    cfg = make_config("paper", file, {"workers": 3})
    assert (cfg.t_max, cfg.lr, cfg.workers, cfg.preset) == (7, 1.0, 3, "paper")


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"workers": 0}, "workers = 0 must be at least 1"),
        ({"lr": -0.1}, "lr = -0.1 must be a positive number"),
        ({"gamma": 1.5}, "gamma = 1.5 must be in [0, 1]"),
        ({"t_max": "5"}, "t_max = '5' must be an integer"),
        ({"env_id": 5}, "env_id = 5 must be a string"),
        ({"action_set": "all"}, "action_set = 'all' is not one of seed3, minimal"),
        ({"env_id": "Breakout-v99x"}, "unknown env id 'Breakout-v99x'"),
        ({"bogus": 1}, "unknown config key 'bogus'"),
        ({"rms_init": -1.0}, "rms_init = -1.0 must be a number >= 0"),
        ({"init": "he"}, "init = 'he' is not one of glorot, orthogonal, torch"),
    ],
)
def test_bad_values_are_named(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_config("seed", overrides=overrides)
    assert message in str(err.value)


def test_bad_preset_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset 'fast'; valid presets: seed, paper"):
        make_config("fast")
    with pytest.raises(ConfigError, match="cannot read config file"):
        make_config("seed", tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("t_max = = 3\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        make_config("seed", bad)


def test_learner_groups() -> None:
    assert learner_groups(make_config("seed")) == [[0, 2, 4, 6], [1, 3, 5, 7]]
    cfg = make_config("seed", overrides={"workers": 5, "learners_per_process": 2})
    assert learner_groups(cfg) == [[0, 3], [1, 4], [2]]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "--workers", "0"], "workers = 0 must be at least 1"),
        (["train", "--env", "NoSuchGame-v4"], "unknown env id 'NoSuchGame-v4'"),
        (["train", "--preset", "fast"], "invalid choice: 'fast'"),
        (["train", "--config", "/nonexistent.toml"], "cannot read config file '/nonexistent.toml'"),
        (["train", "--frames", "0"], "--frames 0 must be at least 1"),
        (["bench", "--workers", "-2"], "workers = -2 must be at least 1"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    result = (
        call_a3c(*args, "--run-dir", str(tmp_path / "r")) if args[0] == "train" else call_a3c(*args)
    )
    assert result.returncode == 2
    assert needle in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(("a3c: error:", "a3c train: error:"))
    assert not (tmp_path / "r").exists()  # nothing started, nothing written


def test_cli_negative_lr_in_config_file(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("lr = -1e-3\n")
    result = call_a3c("train", "--config", str(file), "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2
    assert result.stderr.strip() == "a3c: error: lr = -0.001 must be a positive number"


def test_run_dir_with_a_run_is_never_overwritten(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    result = call_a3c("train", "--run-dir", str(run), "--frames", "100")
    assert result.returncode == 2
    assert "already holds a run" in result.stderr
    assert (run / "config.json").read_text() == "{}"


def test_help_documents_defaults() -> None:
    result = run_a3c("train", "--help")
    assert result.returncode == 0
    for option in ("--preset", "--env", "--workers", "--frames", "--run-dir", "--seed", "--config"):
        assert option in result.stdout
    assert "80,000,000" in result.stdout and "BreakoutDeterministic-v4" in result.stdout


def test_a_resume_may_change_where_games_start_but_not_the_game() -> None:
    stored = make_config("v5")
    cfg, changes = resume_config(stored, {"start_unit": "step", "start_steps_min": 0})
    assert changes == {"start_unit": "step", "start_steps_min": 0}
    assert (cfg.start_unit, cfg.start_steps_min, cfg.resize) == ("step", 0, "area")
    with pytest.raises(ConfigError, match="cannot change resize from 'area' to 'bilinear'"):
        resume_config(stored, {"resize": "bilinear"})
    with pytest.raises(ConfigError, match="start_unit"):
        resume_config(stored, {"start_unit": "second"})


def test_a_branch_may_change_the_maths_but_not_the_network_or_the_optimizer() -> None:
    stored = make_config("atari")
    maths = {"max_grad_norm": 160.0, "lr": 1e-4, "t_max": 5, "seed": 2, "resize": "bilinear"}
    cfg, changes = resume_config(stored, maths, branch=True)
    assert changes == maths and (cfg.max_grad_norm, cfg.t_max, cfg.seed) == (160.0, 5, 2)
    with pytest.raises(ConfigError, match=r"cannot change max_grad_norm .* when resuming"):
        resume_config(stored, {"max_grad_norm": 160.0})  # a resume may not
    for key, value in (("optimizer", "adam"), ("policy", "lstm"), ("pixel_input", "scale")):
        with pytest.raises(ConfigError, match=rf"cannot change {key} .* on a branch"):
            resume_config(stored, {key: value}, branch=True)


def test_a_config_stored_before_init_and_rms_init_existed_keeps_their_old_meaning() -> None:
    from a3c.config import config_from_dict

    stored = make_config("atari", overrides={"env_id": "Pong"}).to_dict()
    del stored["init"], stored["rms_init"]
    cfg = config_from_dict(stored)
    assert (cfg.init, cfg.rms_init) == ("glorot", 0.0)


def test_every_config_key_is_a_flag_and_the_flags_reach_the_run() -> None:
    """Generated from Config: a new field gets its flag with no other change."""
    import dataclasses

    from a3c.cli import build_parser
    from a3c.cli.options import config_from

    parser = build_parser()
    args = parser.parse_args(
        ["train", "--preset", "atari", "--env", "Pong", "--t-max", "5", "--rms-eps", "1e-3",
         "--no-terminal-on-life-loss", "--pixel-input", "scale", "--lr", "7e-4"]
    )  # fmt: skip
    cfg = config_from(args)
    assert (cfg.t_max, cfg.rms_eps, cfg.terminal_on_life_loss) == (5, 1e-3, False)
    assert (cfg.pixel_input, cfg.lr, cfg.preset) == ("scale", 7e-4, "atari")
    assert cfg.rms_eps_inside_sqrt  # not given: the preset's
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    dests = {a.dest for a in train.choices["train"]._actions}
    assert {f.name for f in dataclasses.fields(cfg)} - {"preset"} <= dests
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--pixel-input", "whiten"])
