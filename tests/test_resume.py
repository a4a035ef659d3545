"""Resume: N frames in one go against N/2 + N/2 with a resume between, in serial mode."""

import csv
from pathlib import Path

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from a3c.checkpoint import list_checkpoints, load_checkpoint
from a3c.config import Config, config_from_dict, resume_config
from a3c.optim import learning_rate
from a3c.trainer import Trainer
from tests.helpers import run_a3c

N = 4000


def _cfg(frames: int) -> Config:
    return Config(
        workers=1, learners_per_process=1, t_max=5, frames=frames, lr_schedule="linear", lr=7e-4
    )


def _latest(run: Path) -> dict:
    return load_checkpoint(list_checkpoints(run / "checkpoints")[-1])


def test_resume_continues_counters_schedule_and_optimizer(tmp_path: Path) -> None:
    whole = Trainer(_cfg(N), tmp_path / "whole", serial=True).run()

    half = tmp_path / "halves"
    Trainer(_cfg(N // 2), half, serial=True).run()
    first = _latest(half)
    # Resume with the original budget N: the stored config says N // 2, the override raises it.
    cfg, changes = resume_config(config_from_dict(first["config"]), {"frames": N})
    assert changes == {"frames": N}
    Trainer(cfg, half, serial=True, resume=first).run()
    second = _latest(half)

    assert second["segment"] == 1 and second["frames"] >= N
    assert abs(second["frames"] - whole.frames) <= 200  # both stop within one rollout of N
    assert second["optimizer"]["updates"] > first["optimizer"]["updates"]
    updates_whole = _latest(tmp_path / "whole")["optimizer"]["updates"]
    assert abs(second["optimizer"]["updates"] - updates_whole) <= 0.1 * updates_whole
    # The schedule is a function of global frames and the budget: both end at the same rate.
    lr_whole = learning_rate(7e-4, "linear", whole.frames, N)
    lr_halves = learning_rate(cfg.lr, cfg.lr_schedule, second["frames"], cfg.frames)
    assert abs(lr_whole - lr_halves) < 7e-4 * 200 / N
    # The optimizer statistics went on from the checkpoint's, not from zero: each update
    # multiplies them by alpha and adds a non-negative term. The k float32 multiplications
    # round differently from alpha**k in double: allow a relative 1e-4 (k * 6e-8 is below it).
    k = second["optimizer"]["updates"] - first["optimizer"]["updates"]
    floor = first["optimizer"]["square_avg"] * cfg.rms_alpha**k
    assert (second["optimizer"]["square_avg"] >= floor * (1 - 1e-4)).all()
    assert (floor > 0).any()
    assert second["episodes"] >= first["episodes"]
    assert not torch.equal(second["model"]["value.weight"], first["model"]["value.weight"])

    with open(half / "episodes.csv") as fh:
        rows = list(csv.DictReader(fh))
    episodes = [int(row["episode"]) for row in rows]
    assert episodes == list(range(1, len(episodes) + 1))  # no duplicated or missing games
    # Training time counts on across the resume: the second segment starts from the first's.
    wall = [float(row["wall_s"]) for row in rows]
    assert wall == sorted(wall) and second["wall_s"] >= first["wall_s"] > 0
    assert wall[first["episodes"]] >= first["wall_s"]
    assert episodes[-1] == second["episodes"]

    events = EventAccumulator(str(half / "tb"))
    events.Reload()
    steps = [e.step for e in events.Scalars("episode/score")]
    assert len(steps) == len(episodes) and steps == sorted(steps)


def test_resume_refuses_unsafe_overrides_and_empty_dirs(tmp_path: Path) -> None:
    import subprocess

    run = tmp_path / "run"
    Trainer(_cfg(1000), run, serial=True).run()

    def a3c(*args: str) -> subprocess.CompletedProcess[str]:
        return run_a3c("train", *args, timeout=120)

    changed = a3c("--resume", str(run), "--env", "ALE/Pong-v5", "--frames", "2000")
    assert changed.returncode == 2 and "cannot change env_id" in changed.stderr
    spent = a3c("--resume", str(run), "--frames", "500")
    assert spent.returncode == 2 and "give a larger --frames" in spent.stderr
    (tmp_path / "empty").mkdir()
    empty = a3c("--resume", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "holds no checkpoint" in empty.stderr
    assert len(list_checkpoints(run / "checkpoints")) == 1  # nothing written by the refusals
    assert not (run / "resumes.jsonl").exists()
