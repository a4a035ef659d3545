"""Wrong input anywhere (config files, checkpoints, run dirs, a full disk): exit 2, one line."""

import re
import resource
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from a3c.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from a3c.config import Config
from a3c.trainer import Trainer
from tests.helpers import call_a3c, run_a3c


def _one_error_line(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("a3c: error:") and needle in last, result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished run with one checkpoint."""
    path = tmp_path_factory.mktemp("bad") / "run"
    cfg = Config(workers=1, learners_per_process=1, t_max=5, frames=1000)
    Trainer(cfg, path, serial=True).run()
    return path


def _copy_run(run: Path, to: Path) -> Path:
    subprocess.run(["cp", "-r", str(run), str(to)], check=True)
    return to


@pytest.mark.parametrize(
    "toml,needle",
    [
        ("bogus_key = 1\n", "unknown config key 'bogus_key'"),
        ('t_max = "twenty"\n', "t_max"),
        ("gamma = 1.5\n", "gamma"),
        ("workers = [8]\n", "workers"),
    ],
)
@pytest.mark.parametrize("command", ["train", "bench"])
def test_bad_config_files(tmp_path: Path, command: str, toml: str, needle: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    extra = ["--run-dir", str(tmp_path / "r")] if command == "train" else ["--seconds", "1"]
    _one_error_line(call_a3c(command, "--config", str(config), *extra), needle)
    assert not (tmp_path / "r").exists()


def test_resume_refuses_bad_checkpoints(run: Path, tmp_path: Path) -> None:
    newer = _copy_run(run, tmp_path / "newer")
    path = list_checkpoints(newer / "checkpoints")[-1]
    data = torch.load(path, weights_only=True)
    data["version"] = 99
    torch.save(data, path)
    _one_error_line(call_a3c("train", "--resume", str(newer), "--frames", "5000"), "version 99")

    other_net = _copy_run(run, tmp_path / "other-net")
    path = list_checkpoints(other_net / "checkpoints")[-1]
    data = load_checkpoint(path)
    data["model"]["policy.weight"] = torch.zeros(6, 256)  # a head for 6 actions
    data.pop("format"), data.pop("version")
    path.unlink()
    save_checkpoint(path.parent, data, keep=1)
    before = {p.name: p.read_bytes() for p in (other_net / "checkpoints").iterdir()}
    _one_error_line(
        call_a3c("train", "--resume", str(other_net), "--frames", "5000"), "do not fit the network"
    )
    assert {p.name: p.read_bytes() for p in (other_net / "checkpoints").iterdir()} == before

    not_ckpt = _copy_run(run, tmp_path / "not-ckpt")
    path = list_checkpoints(not_ckpt / "checkpoints")[-1]
    path.write_bytes(b"not a checkpoint at all")
    _one_error_line(
        call_a3c("train", "--resume", str(not_ckpt), "--frames", "5000"), "not a readable"
    )


@pytest.mark.slow
def test_unwritable_run_directories(run: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _one_error_line(
        call_a3c("train", "--run-dir", str(blocker / "run"), "--frames", "100"),
        "cannot write run directory",
    )
    # Root ignores permission bits, so make the file the resume must append to a directory.
    stuck = _copy_run(run, tmp_path / "stuck")
    (stuck / "resumes.jsonl").mkdir()
    _one_error_line(
        run_a3c("train", "--resume", str(stuck), "--frames", "5000"), "cannot write the run's files"
    )


@pytest.mark.slow
def test_resume_with_a_cut_off_metrics_row_keeps_the_rest(run: Path, tmp_path: Path) -> None:
    cut = _copy_run(run, tmp_path / "cut")
    episodes = cut / "episodes.csv"
    lines = episodes.read_text().splitlines(keepends=True)
    assert len(lines) >= 2, "the fixture run should have finished a game"
    # A trainer killed in the middle of a write leaves half a row and no newline.
    original = "".join(lines) + lines[-1][: len(lines[-1]) // 3]
    episodes.write_text(original)
    result = run_a3c("train", "--resume", str(cut), "--frames", "1500", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "1 damaged row(s) left out" in result.stderr
    assert (cut / "episodes.csv.damaged").read_text() == original
    kept = episodes.read_text().splitlines()
    assert kept[: len(lines)] == [line.rstrip("\n") for line in lines]
    assert all(len(line.split(",")) == len(kept[0].split(",")) for line in kept)


@pytest.mark.slow
def test_resume_refuses_a_foreign_metrics_file(run: Path, tmp_path: Path) -> None:
    foreign = _copy_run(run, tmp_path / "foreign")
    (foreign / "train.csv").write_text("time,loss\n1,2\n")
    kept = ("train.csv", "episodes.csv", "config.json", "resumes.jsonl", "tb", "checkpoints")

    def contents() -> dict[str, bytes]:
        paths = [foreign / name for name in kept]
        files = [p for p in paths if p.is_file()] + [f for p in paths for f in p.rglob("*")]
        return {str(f.relative_to(foreign)): f.read_bytes() for f in files if f.is_file()}

    before = contents()
    _one_error_line(
        run_a3c("train", "--resume", str(foreign), "--frames", "1500", "--workers", "1"),
        "train.csv' is not an a3c metrics file (no 'frames' column)",
    )
    assert contents() == before  # no file rewritten, no TensorBoard purge written


def _small_disk() -> None:
    """In the child: files may grow to 4 MB, as if the disk filled up (a checkpoint is 5.4 MB).

    The limit also applies to shared-memory files; the largest, the parameters, is 2.7 MB.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # report EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))


@pytest.mark.slow
def test_full_disk_while_saving_keeps_the_previous_checkpoint(run: Path, tmp_path: Path) -> None:
    full = _copy_run(run, tmp_path / "full")
    previous = list_checkpoints(full / "checkpoints")
    before = previous[-1].read_bytes()
    result = run_a3c(
        "train", "--resume", str(full), "--frames", "3000", "--serial", preexec_fn=_small_disk
    )
    _one_error_line(result, "cannot write the run's files (File too large: ")
    # It names the checkpoint it could not write, not a temp file.
    assert re.search(r"File too large: \S+/checkpoints/ckpt_\d{12}\.pt\)", result.stderr)
    assert f"the last good checkpoint is {previous[-1]}" in result.stderr
    assert list_checkpoints(full / "checkpoints") == previous
    assert previous[-1].read_bytes() == before
    assert load_checkpoint(previous[-1])["frames"] >= 1000
    assert [p.name for p in (full / "checkpoints").iterdir()] == [previous[-1].name]  # no temp


def test_ray_backend_without_ray_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from a3c.cli import main

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ray" else real_find_spec(name, *a),
    )
    for command in (["train", "--run-dir", str(tmp_path / "r")], ["bench"]):
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--backend", "ray"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "pip install '.[ray]'" in err[0]
    assert not (tmp_path / "r").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--address", "auto", "--run-dir", str(tmp_path / "r")])
    assert exit_.value.code == 2
    assert "--address 'auto' is for --backend ray" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("127.0.0.1:1", "cannot connect to the Ray cluster at '127.0.0.1:1' (Connection refused)"),
        ("no-port-here", "--address 'no-port-here' is not 'auto' or HOST:PORT"),
        ("host:99999", "--address 'host:99999' is not 'auto' or HOST:PORT"),
    ],
)
def test_a_ray_address_with_no_cluster_fails_at_once_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], address: str, needle: str
) -> None:
    """Ray itself retries a dead address for minutes: the command line checks it first."""
    import time

    from a3c.cli import main

    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--backend", "ray", "--address", address, "--run-dir", str(tmp_path / "r")])
    assert exit_.value.code == 2 and time.monotonic() - started < 30
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"a3c: error: {needle}")
    assert not (tmp_path / "r").exists()


def test_an_exported_model_plays_but_does_not_resume(run: Path, tmp_path: Path) -> None:
    """Shipped models carry no optimizer state (half the file): everything that reads a
    network takes them, and resuming from one is refused with one line."""
    from a3c.agent import Agent
    from a3c.checkpoint import export_model

    copy = _copy_run(run, tmp_path / "exported")
    path = list_checkpoints(copy / "checkpoints")[-1]
    model = tmp_path / "model.pt"
    export_model(path, model)
    assert "optimizer" not in torch.load(model, weights_only=True)
    assert model.stat().st_size < 0.6 * path.stat().st_size
    agent = Agent.load(model)
    assert agent.act(np.zeros((2, 4, 84, 84), np.uint8)).shape == (2,)
    result = call_a3c("diagnose", str(model))
    assert result.returncode == 0 and "conv1" in result.stdout
    export_model(path, path)  # as if the run's own checkpoint had been exported
    _one_error_line(
        call_a3c("train", "--resume", str(copy), "--frames", "5000"), "holds no optimizer state"
    )
