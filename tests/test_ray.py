"""The Ray backend on a real two-node Ray cluster on loopback (a head and a second node)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ray.cluster_utils import Cluster

from a3c.checkpoint import list_checkpoints, load_checkpoint
from a3c.config import Config
from a3c.trainer import Trainer
from tests.helpers import run_a3c

pytestmark = pytest.mark.slow  # starts a Ray cluster

ACTORS = ("ray::LearnerActor", "ray::ParameterServerActor", "ray::_QueueActor")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    made = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False},
    )
    made.add_node(num_cpus=1)
    made.wait_for_nodes()
    yield made
    made.shutdown()


def _train(address: str, run: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "a3c",
            "train",
            "--backend",
            "ray",
            "--address",
            address,
            "--workers",
            "2",
            "--learners-per-process",
            "1",
            "--run-dir",
            str(run),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a script's `cmd &` would start it: SIGINT ignored, which the driver must undo.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def _actor_pids(kind: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", kind], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _no_actors_left(timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while any(_actor_pids(kind) for kind in ACTORS):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _wait_for(
    proc: subprocess.Popen[str], done: Callable[[], bool], what: str, timeout: float = 180
) -> None:
    """Poll `done()` while the driver runs; fail with `what` (or its stderr) if it never holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def _frames_logged(run: Path) -> int:
    """The global frame count of the last training record (train.csv)."""
    path = run / "train.csv"
    if not path.exists():
        return 0
    rows = path.read_text().splitlines()
    return int(rows[-1].split(",")[0]) if len(rows) > 1 else 0


def test_ctrl_c_on_the_driver_writes_a_checkpoint_and_leaves_no_actors(
    cluster: Cluster, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    proc = _train(cluster.address, run, "--frames", str(10**9))
    try:
        _wait_for(proc, lambda: _frames_logged(run) >= 3000, "no progress")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ckpt["frames"] >= 3000 and ckpt["optimizer"]["updates"] > 0
    assert (run / "episodes.csv").read_text().count("\n") > 1
    assert _no_actors_left()


def test_a_killed_learner_actor_is_restarted_and_the_run_goes_on(
    cluster: Cluster, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    config = tmp_path / "c.toml"
    config.write_text("log_interval_s = 0.5\n")
    proc = _train(cluster.address, run, "--frames", str(10**9), "--config", str(config))
    try:
        _kill_a_learner_then_stop(proc, run)
    finally:
        proc.kill()
    assert proc.returncode == 143  # SIGTERM: as Ctrl-C, although ray.init had its own handler
    events = [json.loads(line) for line in (run / "events.log").read_text().splitlines()]
    assert [e["action"] for e in events] == ["restart"]
    assert "actor died" in events[0]["cause"]
    # The restarted actor itself trains: games of its own learners end after the restart.
    assert _games_after(run, events[0]["learners"], events[0]["frames"])
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ckpt["frames"] >= events[0]["frames"] + 2000
    assert _no_actors_left()


def _games_after(run: Path, learners: list[int], frames: int) -> list[dict[str, str]]:
    """The rows of episodes.csv played by `learners` that ended after `frames`."""
    with open(run / "episodes.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if int(r["learner"]) in learners and int(r["frames"]) > frames]


def _kill_a_learner_then_stop(proc: subprocess.Popen[str], run: Path) -> None:
    def learners_at(frames: int) -> Callable[[], bool]:
        return lambda: _frames_logged(run) >= frames and len(_actor_pids("ray::LearnerActor")) >= 2

    _wait_for(proc, learners_at(1000), "learners did not start")
    os.kill(_actor_pids("ray::LearnerActor")[0], signal.SIGKILL)
    # Each phase has its own time: a restart imports torch.
    _wait_for(proc, (run / "events.log").exists, "the death was not noticed")
    event = json.loads((run / "events.log").read_text().splitlines()[0])
    after_kill = _frames_logged(run)
    _wait_for(proc, learners_at(after_kill + 2000), "the frame count stopped rising")
    _wait_for(
        proc,
        lambda: bool(_games_after(run, event["learners"], event["frames"])),
        "the restarted actor finished no game",
    )
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr


def test_a_lost_parameter_server_stops_the_run_with_a_valid_checkpoint(
    cluster: Cluster, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    config = tmp_path / "c.toml"
    config.write_text("checkpoint_interval_s = 1.0\n")
    proc = _train(cluster.address, run, "--frames", str(10**9), "--config", str(config))
    try:
        _wait_for(proc, lambda: bool(list_checkpoints(run / "checkpoints")), "no checkpoint")
        os.kill(_actor_pids("ray::ParameterServerActor")[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("a3c: error: the parameter-server actor died") and "last good" in last
    load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert _no_actors_left()


def test_a_run_resumes_on_the_other_backend(cluster: Cluster, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = Config(workers=2, learners_per_process=1, t_max=5, frames=2000, log_interval_s=0.5)
    Trainer(cfg, run, serial=True).run()  # local
    first = list_checkpoints(run / "checkpoints")[-1]
    resumed = run_a3c(
        "train",
        "--resume",
        str(run),
        "--backend",
        "ray",
        "--address",
        cluster.address,
        "--frames",
        "5000",
    )
    assert resumed.returncode == 0, resumed.stderr
    ray_ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ray_ckpt["frames"] >= 5000 and ray_ckpt["segment"] == 1
    # The Ray server went on from the local checkpoint's counters, not from zero: every record
    # of its segment comes after the local run's frames.
    local_frames = load_checkpoint(first)["frames"]
    with open(run / "train.csv") as fh:
        train = [int(r["frames"]) for r in csv.DictReader(fh)]
    assert train == sorted(train) and train[0] <= local_frames < train[-1]
    back = run_a3c("train", "--resume", str(run), "--frames", "7000")
    assert back.returncode == 0, back.stderr
    local_ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert local_ckpt["frames"] >= 7000 and local_ckpt["segment"] == 2
    assert local_ckpt["optimizer"]["updates"] > ray_ckpt["optimizer"]["updates"]


def test_the_lstm_policy_trains_on_ray(cluster: Cluster, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_a3c(
        "train", "--backend", "ray", "--address", cluster.address, "--policy", "lstm",
        "--workers", "2", "--learners-per-process", "1", "--frames", "3000",
        "--run-dir", str(run),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ckpt["config"]["policy"] == "lstm" and ckpt["frames"] >= 3000
    assert "core.cell.weight_hh" in ckpt["model"] and ckpt["optimizer"]["updates"] > 0
    assert _no_actors_left()
