"""Resume: N frames in one go against N/2 + N/2 with a resume between, in serial mode."""

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import a3c.run_files
from a3c.checkpoint import (
    checkpoint_frames,
    list_checkpoints,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from a3c.config import Config, config_from_dict, resume_config
from a3c.resume import prepare_branch
from a3c.server import SharedParameterServer
from a3c.trainer import Trainer
from tests.helpers import rmsprop, run_a3c

pytestmark = pytest.mark.slow  # trains, stops and resumes runs

N = 4000


def _cfg(frames: int) -> Config:
    return Config(
        workers=1, learners_per_process=1, t_max=5, frames=frames, lr_schedule="linear", lr=7e-4
    )


def _latest(run: Path) -> dict:
    return load_checkpoint(list_checkpoints(run / "checkpoints")[-1])


def test_checkpoints_are_ordered_and_pruned_by_their_frame_counts(tmp_path: Path) -> None:
    directory = tmp_path / "checkpoints"
    for frames in (5, 1_000_000, 40):  # written out of order: the names decide, not the clock
        save_checkpoint(directory, {"frames": frames}, keep=2)
    (directory / "notes.pt").write_bytes(b"")
    kept = list_checkpoints(directory)
    assert [checkpoint_frames(p) for p in kept] == [40, 1_000_000]
    assert checkpoint_frames(directory / "notes.pt") is None
    assert resolve_checkpoint(tmp_path) == kept[-1]
    assert kept[-1].name == "ckpt_000001000000.pt"


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
    # The exact state after loading and the schedule half-way are checked by
    # test_a_checkpoint_round_trips_through_the_trainer_exactly and
    # test_the_first_push_after_loading_uses_the_loaded_state_and_schedule below.
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


def test_a_checkpoint_round_trips_through_the_trainer_exactly(tmp_path: Path) -> None:
    """Resumed at its finished budget, a run writes back exactly the state it loaded: weights,
    RMSprop statistics and counters (a resume that dropped any of them would not)."""
    run = tmp_path / "run"
    Trainer(_cfg(N // 2), run, serial=True).run()
    first = _latest(run)
    cfg, _ = resume_config(config_from_dict(first["config"]), {})
    Trainer(cfg, run, serial=True, resume=first).run()
    second = _latest(run)
    assert second["segment"] == 1
    assert (second["frames"], second["episodes"]) == (first["frames"], first["episodes"])
    assert second["optimizer"]["updates"] == first["optimizer"]["updates"]
    assert first["model"].keys() == second["model"].keys()
    for name, weights in first["model"].items():
        assert torch.equal(second["model"][name], weights), name
    assert torch.equal(second["optimizer"]["square_avg"], first["optimizer"]["square_avg"])


def test_the_first_push_after_loading_uses_the_loaded_state_and_schedule(tmp_path: Path) -> None:
    """Half-way through a linear schedule, one known gradient moves the loaded weights by the
    RMSprop step computed by hand from the loaded statistics and the half-way learning rate."""
    run = tmp_path / "run"
    Trainer(_cfg(N // 2), run, serial=True).run()
    ckpt = _latest(run)
    cfg = _cfg(N)
    server = SharedParameterServer(cfg)
    fresh = server.params.clone()
    server.load_state(
        ckpt["model"], ckpt["optimizer"], ckpt["frames"], ckpt["optimizer"]["updates"]
    )
    state = server.state()
    for name, weights in ckpt["model"].items():
        assert torch.equal(state["model"][name], weights), name
    assert torch.equal(state["optimizer"]["square_avg"], ckpt["optimizer"]["square_avg"])
    assert (state["frames"], server.updates()) == (ckpt["frames"], ckpt["optimizer"]["updates"])
    assert not torch.equal(server.params, fresh)  # the loaded weights are not the initial ones

    params, v = server.params.clone(), rmsprop(server).square_avg.clone()
    grad = torch.linspace(-0.02, 0.03, len(params))
    lr = 7e-4 * (1 - ckpt["frames"] / N)  # about half the base rate, not 7e-4 and not 0
    assert 2e-4 < lr < 5e-4
    assert server.push(grad, 100) == ckpt["frames"] + 100
    v_expected = cfg.rms_alpha * v + (1 - cfg.rms_alpha) * grad.square()
    params_expected = params - lr * grad / (v_expected.sqrt() + cfg.rms_eps)  # Keras: ε outside
    torch.testing.assert_close(rmsprop(server).square_avg, v_expected, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(server.params, params_expected, rtol=1e-6, atol=1e-9)
    assert server.updates() == ckpt["optimizer"]["updates"] + 1


def test_resume_after_newer_records_counts_every_game_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trainer killed after its last checkpoint leaves records newer than it. Resuming drops
    them: in episodes.csv, train.csv and TensorBoard, games are numbered 1..n without repeats and
    frames never go back. Also: only the newest `keep_checkpoints` (3) files stay."""
    written: list[Path] = []
    states: list[dict] = []

    def spy(directory: Path, state: dict, keep: int) -> Path:
        written.append(save_checkpoint(directory, state, keep))
        states.append(state)
        return written[-1]

    monkeypatch.setattr(a3c.run_files, "save_checkpoint", spy)
    cfg = dataclasses.replace(_cfg(N), checkpoint_interval_s=0.2, log_interval_s=0.1)
    run = tmp_path / "run"
    Trainer(cfg, run, serial=True).run()
    kept = list_checkpoints(run / "checkpoints")
    newest = list(dict.fromkeys(written))  # a checkpoint at unchanged frames replaces its file
    assert len(newest) >= 5 and kept == newest[-3:]  # the newest 3; the older ones deleted

    # As if killed after the last checkpoint before its final game: newer records stay behind.
    with open(run / "episodes.csv") as fh:
        last_game = int(list(csv.DictReader(fh))[-1]["frames"])
    resume = [s for s in states if s["frames"] < last_game][-1]
    # And as if a game's record had been on its way from the learner when it was taken: the
    # file holds that game, the checkpoint does not count it.
    assert resume["episodes"] >= 1
    resume = {**resume, "episodes": resume["episodes"] - 1}
    for path in kept:
        path.unlink()
    Trainer(dataclasses.replace(cfg, frames=N + N // 2), run, serial=True, resume=resume).run()

    with open(run / "episodes.csv") as fh:
        rows = list(csv.DictReader(fh))
    episodes = [int(r["episode"]) for r in rows]
    frames = [int(r["frames"]) for r in rows]
    assert episodes == list(range(1, len(rows) + 1))
    assert frames == sorted(frames) and frames[-1] >= N
    assert _latest(run)["episodes"] == len(rows)
    with open(run / "train.csv") as fh:
        train_rows = list(csv.DictReader(fh))
    every = [int(r["frames"]) for r in train_rows]
    assert every == sorted(every) and every[-1] >= N
    # Health measurements are rows of their own, without a throughput figure.
    train_frames = [int(r["frames"]) for r in train_rows if r["frames_per_second"]]
    health_frames = [int(r["frames"]) for r in train_rows if r["dead_conv1"]]
    assert len(health_frames) >= 3  # each segment's start and end

    events = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("episode/score")] == frames
    assert [e.step for e in events.Scalars("perf/frames_per_second")] == train_frames
    assert [e.step for e in events.Scalars("health/dead_conv1")] == health_frames


def test_a_run_with_shared_adam_resumes_with_its_statistics(tmp_path: Path) -> None:
    run = tmp_path / "run"
    common = ("--workers", "1", "--learners-per-process", "1", "--optimizer", "adam")
    first = run_a3c("train", "--frames", "2000", "--run-dir", str(run), *common)
    assert first.returncode == 0, first.stderr
    stopped = _latest(run)
    assert stopped["optimizer"]["steps"].item() == stopped["optimizer"]["updates"] > 0
    again = run_a3c("train", "--resume", str(run), "--frames", "4000")
    assert again.returncode == 0, again.stderr
    done = _latest(run)
    assert done["optimizer"]["steps"].item() == done["optimizer"]["updates"]
    assert done["optimizer"]["updates"] > stopped["optimizer"]["updates"]
    # A checkpoint whose Adam state was cut off is refused, with the file as it was.
    ckpt = list_checkpoints(run / "checkpoints")[-1]
    data = torch.load(ckpt, weights_only=True)
    del data["optimizer"]["exp_avg"]
    torch.save(data, ckpt)
    refused = run_a3c("train", "--resume", str(run), "--frames", "6000")
    assert refused.returncode == 2 and "its adam state has no exp_avg" in refused.stderr


def test_a_branch_starts_a_new_run_from_a_checkpoint_with_other_maths(tmp_path: Path) -> None:
    """`--branch` from a run's older checkpoint: the new run carries on its weights, optimizer
    state, frame count and segment with a changed clip, keeps the source's metrics up to that
    checkpoint, says where it came from in resumes.jsonl, and leaves the source untouched."""
    import json
    import subprocess

    source = tmp_path / "source"
    Trainer(_cfg(N // 2), source, serial=True).run()
    first_path = list_checkpoints(source / "checkpoints")[-1]
    first = load_checkpoint(first_path)
    cfg, _ = resume_config(config_from_dict(first["config"]), {"frames": N})
    Trainer(cfg, source, serial=True, resume=first).run()  # the source goes on past it
    before = {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()}

    branch = tmp_path / "branch"
    done = run_a3c(
        "train", "--branch", str(first_path), "--run-dir", str(branch),
        "--max-grad-norm", "5", "--frames", str(N), timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"branching {first_path.resolve()} at {first['frames']:,} frames" in done.stderr
    kept = list_checkpoints(branch / "checkpoints")
    assert kept[0].name == first_path.name and kept[0].read_bytes() == first_path.read_bytes()
    last = load_checkpoint(kept[-1])
    assert last["segment"] == first["segment"] + 1 and last["frames"] >= N
    assert last["config"]["max_grad_norm"] == 5.0 and first["config"]["max_grad_norm"] == 0.0
    assert last["optimizer"]["updates"] > first["optimizer"]["updates"]
    assert json.loads((branch / "config.json").read_text())["max_grad_norm"] == 5.0
    entries = [json.loads(line) for line in (branch / "resumes.jsonl").read_text().splitlines()]
    # The source's resume from that checkpoint is its own history, not the branch's.
    assert [e["frames"] for e in entries] == [first["frames"]]
    assert entries[0]["branched_from"] == str(first_path.resolve())
    assert entries[0]["changes"] == {"max_grad_norm": 5.0, "frames": N}
    # The metrics: the source's games up to the checkpoint, then the branch's own.
    with open(source / "episodes.csv") as fh:
        ours = [r for r in csv.DictReader(fh) if int(r["frames"]) <= first["frames"]]
    with open(branch / "episodes.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[: len(ours)] == ours and len(rows) == last["episodes"] > len(ours)
    assert all(int(r["frames"]) > first["frames"] for r in rows[len(ours) :])
    assert {p.name: p.read_bytes() for p in source.rglob("*") if p.is_file()} == before
    # A branch of the newest checkpoint shares the source's resume before it.
    later = tmp_path / "later"
    _, newest, _, _ = prepare_branch(source, later, None, {"frames": 2 * N})
    assert newest["frames"] == _latest(source)["frames"]
    assert (later / "resumes.jsonl").read_text() == (source / "resumes.jsonl").read_text()

    def refused(*args: str) -> subprocess.CompletedProcess[str]:
        result = run_a3c("train", "--branch", str(first_path), *args, timeout=120)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result
        return result

    other = str(tmp_path / "other")
    assert "cannot change torso" in refused("--run-dir", other, "--torso", "mlp").stderr
    assert "cannot change env_id" in refused("--run-dir", other, "--env", "ALE/Pong-v5").stderr
    assert "is not empty" in refused("--run-dir", str(branch)).stderr
    assert "needs --run-dir" in refused().stderr
    assert "give one" in refused("--resume", str(source)).stderr
    assert not (tmp_path / "other").exists()  # nothing written by the refusals
