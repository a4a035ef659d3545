"""A learner process that dies is restarted; one that keeps dying stops the run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

import a3c.learner
from a3c.backends.local import process_gone
from a3c.checkpoint import list_checkpoints, load_checkpoint
from a3c.config import Config
from a3c.metrics import read_rows
from a3c.trainer import LearnerFailed, Trainer
from tests.helpers import run_a3c

pytestmark = pytest.mark.slow  # trains with learner processes and kills them


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _learner_pids(trainer: int) -> list[int]:
    """Learner processes are children of the fork server, itself a child of the trainer."""
    return [pid for child in _children(trainer) for pid in _children(child)]


def _as_background_job() -> None:
    """In the child: SIGINT ignored, as `cmd &` in a script leaves it; kill -INT must still work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _has_updates(train_csv: Path) -> bool:
    """Whether train.csv records an applied update (its first rows may be the trainer's own)."""
    if not train_csv.exists():
        return False
    rows, _ = read_rows(train_csv, ("updates",))  # a half-written last row is left out
    return any(int(row["updates"]) > 0 for row in rows)


def _start(
    run: Path, frames: int, *extra: str, output: Any = subprocess.PIPE
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "a3c",
            "train",
            "--frames",
            str(frames),
            "--workers",
            "2",
            "--learners-per-process",
            "1",
            "--run-dir",
            str(run),
            *extra,
        ],
        stdout=output,
        stderr=output,
        text=True,
        preexec_fn=_as_background_job,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_a_learner(proc: subprocess.Popen[str], run: Path) -> list[int]:
    """SIGKILL one learner process; returns the learner pids seen before the kill."""
    deadline = time.monotonic() + 60
    while not (run / "episodes.csv").exists() or len(_learner_pids(proc.pid)) < 2:
        assert time.monotonic() < deadline, "learners did not start"
        time.sleep(0.2)
    time.sleep(1.0)  # let it learn a little
    learners = _learner_pids(proc.pid)
    os.kill(learners[0], signal.SIGKILL)
    return learners


def test_killed_learner_is_restarted_and_the_run_goes_on(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _start(run, 60_000)
    learners = _kill_a_learner(proc, run)
    # A new process takes its place; starting one (importing torch) can take seconds under load.
    deadline = time.monotonic() + 60
    while True:
        replaced = _learner_pids(proc.pid)
        if len(replaced) == 2 and learners[0] not in replaced:
            break
        assert proc.poll() is None, "the run ended before a replacement learner was seen"
        assert time.monotonic() < deadline, f"no replacement learner: {replaced}"
        time.sleep(0.1)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert "killed by signal 9; restarted" in stderr
    events = [json.loads(line) for line in (run / "events.log").read_text().splitlines()]
    assert len(events) == 1 and events[0]["action"] == "restart"
    assert events[0]["cause"] == "killed by signal 9"
    # The replacement works: its learners finish games after the restart (the killed process's
    # games all ended before it).
    restarted, at = set(events[0]["learners"]), int(events[0]["frames"])
    games, _ = read_rows(run / "episodes.csv", ("frames", "learner"))
    assert any(int(g["learner"]) in restarted and int(g["frames"]) > at for g in games), at
    assert not any(_alive(pid) for pid in [*learners, *replaced])  # no process outlives it
    checkpoints = list_checkpoints(run / "checkpoints")
    assert checkpoints and int(checkpoints[-1].name[5:17]) >= 60_000


def test_learners_that_keep_dying_stop_the_run_with_a_checkpoint(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("max_learner_restarts = 0\n")
    run = tmp_path / "run"
    proc = _start(run, 10**9, "--config", str(config))
    learners = _kill_a_learner(proc, run)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "max_learner_restarts = 0" in stderr and "the run stops" in stderr
    assert list_checkpoints(run / "checkpoints")
    events = [json.loads(line) for line in (run / "events.log").read_text().splitlines()]
    assert [e["action"] for e in events] == ["stop"]
    assert not any(_alive(pid) for pid in learners)


def test_non_finite_updates_are_never_applied_and_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_loss = a3c.learner.a3c_loss

    def nan_loss(*args: object, **kwargs: object) -> tuple[torch.Tensor, dict[str, float]]:
        loss, terms = real_loss(*args, **kwargs)  # type: ignore[arg-type]
        return loss * float("nan"), terms

    monkeypatch.setattr(a3c.learner, "a3c_loss", nan_loss)
    cfg = Config(
        workers=1,
        learners_per_process=1,
        t_max=5,
        frames=10**9,
        log_interval_s=0.2,
        max_skipped_updates=20,
    )
    trainer = Trainer(cfg, tmp_path / "run", serial=True)
    with pytest.raises(LearnerFailed, match="non-finite gradients"):
        trainer.run(time_limit_s=120)
    ckpt = load_checkpoint(list_checkpoints(tmp_path / "run" / "checkpoints")[-1])
    assert ckpt["optimizer"]["updates"] == 0  # nothing was applied
    assert ckpt["frames"] > 0  # but the frames were counted
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values())
    log = (tmp_path / "run" / "events.log").read_text().splitlines()
    events = [json.loads(line) for line in log]
    assert events[-1]["action"] == "stop"


def test_a_learners_exception_reaches_events_log_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that raises in a learner: its traceback, not just an exit status, is what
    events.log and the warning name; the group is restarted and the run finishes."""
    real_loss = a3c.learner.a3c_loss
    calls = []

    def loss_that_fails_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 30:
            raise RuntimeError("a bug in the loss")
        return real_loss(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(a3c.learner, "a3c_loss", loss_that_fails_once)
    cfg = Config(workers=1, learners_per_process=1, t_max=5, frames=3000)
    summary = Trainer(cfg, tmp_path / "run", serial=True).run(time_limit_s=120)
    assert summary.frames >= 3000 and len(calls) > 30
    log = (tmp_path / "run" / "events.log").read_text().splitlines()
    assert len(log) == 1
    event = json.loads(log[0])
    assert event["action"] == "restart" and event["learners"] == [0]
    assert event["cause"].startswith("Traceback")
    assert event["cause"].splitlines()[-1] == "RuntimeError: a bug in the loss"


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_with_a_final_checkpoint_and_no_children(
    tmp_path: Path, signum: int, status: int
) -> None:
    run = tmp_path / "run"
    proc = _start(run, 10**9)
    deadline = time.monotonic() + 60
    # Until the learners have reported updates, however loaded the machine.
    while len(_learner_pids(proc.pid)) < 2 or not _has_updates(run / "train.csv"):
        assert time.monotonic() < deadline, "learners did not start"
        time.sleep(0.2)
    learners = _learner_pids(proc.pid)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert "interrupted after" in stdout
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ckpt["frames"] > 0 and ckpt["optimizer"]["updates"] > 0
    assert not any(_alive(pid) for pid in learners)


def test_trainer_killed_while_saving_leaves_a_checkpoint_to_resume(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("checkpoint_interval_s = 0.02\n")  # saving nearly all the time
    run = tmp_path / "run"
    with open(tmp_path / "out.txt", "w") as out:  # not pipes: orphans could hold them open
        proc = _start(run, 10**9, "--config", str(config), output=out)
    deadline = time.monotonic() + 60
    while len(list_checkpoints(run / "checkpoints")) < 3:
        assert time.monotonic() < deadline, "no checkpoints"
        time.sleep(0.1)
    helpers = _children(proc.pid)
    learners = _learner_pids(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    # Orphaned learners notice and stop within a rollout; then the fork server and the resource
    # tracker see their pipes close and exit too. (Orphans may stay zombies here: the
    # container's init need not reap them, so a zombie counts as gone.)
    deadline = time.monotonic() + 30
    while not all(process_gone(pid) for pid in [*learners, *helpers]):
        assert time.monotonic() < deadline, "processes outlived the killed trainer"
        time.sleep(0.2)
    latest = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])  # loads: not torn
    resumed = run_a3c(
        "train", "--resume", str(run), "--frames", str(latest["frames"] + 2000), timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(list_checkpoints(run / "checkpoints")[-1])["frames"] >= (
        latest["frames"] + 2000
    )


def test_a_second_ctrl_c_stops_at_once_and_the_last_checkpoint_stays_valid(
    tmp_path: Path,
) -> None:
    """A learner that does not stop (here: stopped by SIGSTOP) holds up the orderly stop; a
    second Ctrl-C ends the command at once, says so, and leaves no process behind."""
    config = tmp_path / "c.toml"
    config.write_text("checkpoint_interval_s = 1.0\n")
    run = tmp_path / "run"
    out = tmp_path / "out.txt"
    with open(out, "w") as fh:
        proc = _start(run, 10**9, "--config", str(config), output=fh)
    deadline = time.monotonic() + 60
    while len(_learner_pids(proc.pid)) < 2 or not list_checkpoints(run / "checkpoints"):
        assert time.monotonic() < deadline, "learners did not start"
        time.sleep(0.2)
    learners = _learner_pids(proc.pid)
    os.kill(learners[0], signal.SIGSTOP)
    try:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while "interrupt again to stop at once" not in out.read_text():
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        time.sleep(2.0)  # the orderly stop is now waiting for the stopped learner
        assert proc.poll() is None, "the stop did not wait for the learners"
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        stopped_in = time.monotonic() - asked
    finally:
        if _alive(learners[0]):
            os.kill(learners[0], signal.SIGCONT)
        proc.kill()
    output = out.read_text()
    assert proc.returncode == 130, output
    assert stopped_in < 15, stopped_in  # not the orderly stop's 30 s wait for learners
    assert "stopped at once by a second interrupt" in output and "Traceback" not in output
    assert "interrupted after" not in output  # the orderly stop's summary was not reached
    load_checkpoint(list_checkpoints(run / "checkpoints")[-1])  # the newest one loads
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]  # no temp
    deadline = time.monotonic() + 30
    while not all(process_gone(pid) for pid in learners):
        assert time.monotonic() < deadline, "learners outlived the command"
        time.sleep(0.2)
