"""`a3c train` and `a3c bench` end to end on Breakout at tiny budgets."""

import csv
import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from a3c.checkpoint import list_checkpoints, load_checkpoint
from a3c.config import Config, config_from_dict
from tests.helpers import run_a3c

pytestmark = pytest.mark.slow  # trains end to end through the command line


def test_train_writes_tensorboard_metrics_and_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_a3c(
        "train",
        "--frames",
        "6000",
        "--workers",
        "2",
        "--learners-per-process",
        "1",
        "--run-dir",
        str(run),
        "--seed",
        "3",
    )
    assert result.returncode == 0, result.stderr
    assert f"run directory: {run}" in result.stdout
    assert "frames" in result.stderr  # the progress line

    events = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for tag in (
        "episode/score",
        "episode/avg_max_prob",
        "episode/steps",
        "loss/policy",
        "loss/value",
        "loss/entropy",
        "perf/frames_per_second",
        "health/dead_conv1",
        "health/logit_spread",
    ):
        assert tag in tags, tag
    # Plotted against global emulator frames, not episodes or wall time.
    steps = [e.step for e in events.Scalars("episode/score")]
    assert max(steps) > 1000
    assert "config/text_summary" in events.Tags()["tensors"]

    with open(run / "episodes.csv") as fh:
        episodes = list(csv.DictReader(fh))
    assert len(episodes) == len(steps) >= 2
    assert {"frames", "score", "steps", "avg_max_prob"} <= set(episodes[0])
    assert all(1 / 3 - 1e-6 <= float(e["avg_max_prob"]) <= 1 for e in episodes)
    assert all(float(e["score"]) >= 0 and int(e["steps"]) > 0 for e in episodes)

    # The network's health, measured at the start on the run's screens: a fresh one sees.
    with open(run / "train.csv") as fh:
        health = [r for r in csv.DictReader(fh) if r["dead_conv1"]]
    assert health[0]["frames"] == "0" and float(health[0]["dead_conv1"]) < 0.5
    assert float(health[0]["logit_spread"]) > 0 and "warning" not in result.stderr

    stored = json.loads((run / "config.json").read_text())
    assert config_from_dict(stored).workers == 2

    checkpoints = list_checkpoints(run / "checkpoints")
    assert checkpoints
    ckpt = load_checkpoint(checkpoints[-1])
    assert ckpt["frames"] >= 6000 and ckpt["episodes"] == len(episodes)
    assert ckpt["config"]["seed"] == 3
    assert ckpt["model"]["trunk.5.weight"].shape == (256, 2592)
    assert ckpt["optimizer"]["square_avg"].shape == (677172,)
    assert ckpt["optimizer"]["updates"] > 0
    assert torch.isfinite(ckpt["model"]["policy.weight"]).all()


def test_bench_json_fields() -> None:
    result = run_a3c(
        "bench",
        "--seconds",
        "4",
        "--warmup",
        "2",
        "--json",
        "--workers",
        "2",
        "--learners-per-process",
        "1",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["workers"] == 2 and data["seconds"] == 4.0 and data["processes"] == 2
    assert data["frames_per_second"] > 0 and data["env_frames_per_second"] > 0
    assert data["peak_rss_mb"] > data["peak_rss_mb_per_process"] > 0
    split = data["time_split"]
    assert set(split) == {"env", "inference", "learn", "sync"}
    assert abs(sum(split.values()) - 1) < 0.01


def test_serial_mode_runs_the_same_learners_in_one_process(tmp_path: Path) -> None:
    from a3c.trainer import Trainer

    cfg = Config(workers=2, learners_per_process=1, frames=1500, t_max=5)
    summary = Trainer(cfg, tmp_path / "run", serial=True).run()
    assert summary.frames >= 1500 and not summary.interrupted
    assert summary.checkpoint is not None and summary.checkpoint.exists()
