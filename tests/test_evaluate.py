"""evaluate, play and plot on checkpoints and runs written by the trainer; bad files refused."""

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from a3c.checkpoint import list_checkpoints, load_network, save_checkpoint
from a3c.config import Config
from a3c.envs import AtariGame
from a3c.evaluate import evaluate, evaluation_config
from a3c.trainer import Trainer
from tests.helpers import call_a3c, run_a3c

pytestmark = pytest.mark.slow  # plays whole games in child processes


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("eval") / "run"
    Trainer(Config(workers=1, learners_per_process=1, frames=2500, t_max=5), run, serial=True).run()
    return run


@pytest.fixture(scope="module")
def checkpoint(run_dir: Path) -> Path:
    return list_checkpoints(run_dir / "checkpoints")[-1]


def test_evaluate_json_fields_and_varied_noops(checkpoint: Path) -> None:
    result = run_a3c("evaluate", str(checkpoint), "--episodes", "4", "--sample", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("mean", "median", "std", "min", "max", "episodes", "frames", "protocol"):
        assert key in data
    assert data["episodes"] == 4 and len(data["games"]) == 4
    assert data["min"] <= data["median"] <= data["max"]
    assert data["frames"] == sum(g["frames"] for g in data["games"])
    assert data["protocol"]["noop_max"] == 30 and data["protocol"]["policy"] == "sample"
    assert data["protocol"]["max_episode_frames"] == 108_000
    noops = [g["noops"] for g in data["games"]]
    assert len(set(noops)) > 1 and all(0 <= n <= 30 for n in noops)
    assert "game 4/4" in result.stderr  # progress while it runs


def test_frame_cap_stops_an_agent_that_never_fires(checkpoint: Path) -> None:
    model, cfg, _ = load_network(checkpoint)
    # A policy that always picks the seed's action 1 (RIGHT): the paddle moves, the ball is
    # never served, the game never ends, and with FIRE after lost lives off nothing serves it.
    cfg = Config(**{**cfg.to_dict(), "fire_on_life_loss": False})
    with torch.no_grad():
        model.policy.weight.zero_()
        model.policy.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    result = evaluate(model, cfg, episodes=2, greedy=True, max_episode_frames=3000)
    assert result["truncated"] == 2
    assert all(3000 <= g["frames"] < 3000 + 4 for g in result["games"])
    assert result["max"] == 0


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_play_writes_a_video_with_every_frame(
    checkpoint: Path, tmp_path: Path, suffix: str
) -> None:
    video = tmp_path / f"game{suffix}"
    result = run_a3c("play", str(checkpoint), "--video", str(video), "--fps", "30")
    assert result.returncode == 0, result.stderr
    frames = int(result.stdout.split("(")[1].split(" frames")[0].replace(",", ""))
    if suffix == ".mp4":
        capture = cv2.VideoCapture(str(video))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
        assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
            160,
            210,
        )
        ok, image = capture.read()
        assert ok and image.shape == (210, 160, 3) and image.std() > 0  # colour, not blank
    else:
        with Image.open(video) as gif:
            assert gif.size == (160, 210)
            # GIF merges identical neighbours into one longer frame: check the play time.
            total_ms = 0
            for i in range(getattr(gif, "n_frames", 1)):  # an animated GIF's
                gif.seek(i)
                total_ms += gif.info["duration"]
            assert total_ms == pytest.approx(frames * 1000 / 30, rel=0.15)


def test_play_without_display_says_how_to_record(checkpoint: Path) -> None:
    result = run_a3c("play", str(checkpoint), timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "--video" in result.stderr


def test_plot_two_runs(run_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (second / "episodes.csv").write_text((run_dir / "episodes.csv").read_text())
    out = tmp_path / "curves.png"
    result = call_a3c("plot", str(run_dir), str(second), "-o", str(out), "--window", "5")
    assert result.returncode == 0, result.stderr
    with Image.open(out) as png:
        assert png.format == "PNG" and png.size[0] > 400
    missing = call_a3c("plot", str(tmp_path / "nope"), "-o", str(out))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_plot_against_hours_and_print_milestones(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    rows = "".join(f"{i * 100_000},{i},{i},100,0.5,0,{i * 36.0}\n" for i in range(1, 201))
    (run / "episodes.csv").write_text(
        "frames,episode,score,steps,avg_max_prob,learner,wall_s\n" + rows
    )
    out = tmp_path / "hours.png"
    args = ("plot", str(run), "-o", str(out), "--x", "hours", "--window", "10")
    result = call_a3c(*args, "--milestones", "50,100,500")
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    # The mean of games 46..55 is 50.5: first reached at game 55 (5.5M frames, 55 x 36 s).
    assert "50: at 5.5M frames, 0:33:00 of training" in result.stdout
    assert "100: at 10.5M frames, 1:03:00 of training" in result.stdout
    assert "500: not reached" in result.stdout
    bad = call_a3c(*args, "--milestones", "100,lots")
    assert bad.returncode == 2 and "--milestones" in bad.stderr
    # Scores at equal frames: games 41..50 by 5M frames, 191..200 by 20M; 30M was never reached.
    at = call_a3c(*args, "--at", "5M,2e7,30M")
    assert at.returncode == 0, at.stderr
    assert "5M frames: 45.5" in at.stdout and "20M frames: 195.5" in at.stdout
    assert "30M frames: not reached" in at.stdout
    for text in ("10M,-5M", "ten"):
        bad = call_a3c(*args, "--at", text)
        assert bad.returncode == 2 and "--at" in bad.stderr


def _bad_checkpoints(checkpoint: Path, tmp_path: Path) -> dict[str, Path]:
    good = checkpoint.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all" * 100)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    data = torch.load(checkpoint, weights_only=True)
    other_actions = tmp_path / "ckpts"
    data["config"]["action_set"] = "minimal"  # 4 actions, but the network has 3
    data.pop("format"), data.pop("version")
    other = save_checkpoint(other_actions, data, keep=1)
    empty_run = tmp_path / "empty-run"
    (empty_run / "checkpoints").mkdir(parents=True)
    return {
        "missing": tmp_path / "missing.pt",
        "run directory without checkpoints": empty_run,
        "truncated": truncated,
        "garbage": garbage,
        "foreign": foreign,
        "other action set": other,
    }


@pytest.mark.parametrize("command", ["evaluate", "play"])
def test_bad_checkpoints_refused_and_left_untouched(
    checkpoint: Path, tmp_path: Path, command: str
) -> None:
    for kind, path in _bad_checkpoints(checkpoint, tmp_path).items():
        before = path.read_bytes() if path.is_file() else None
        extra = ["--video", str(tmp_path / "v.mp4")] if command == "play" else []
        result = call_a3c(command, str(path), "--episodes", "1", *extra)
        assert result.returncode == 2, (kind, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("a3c: error:"), (kind, lines)
        assert (path.read_bytes() if path.is_file() else None) == before, kind
    assert not (tmp_path / "v.mp4").exists()


def test_sticky_actions_make_the_same_play_differ(checkpoint: Path) -> None:
    # Deterministic Breakout: the same actions give the same game whatever the seed; with sticky
    # actions the emulator sometimes repeats the previous action, so the seeds' games part ways.
    model, cfg, _ = load_network(checkpoint)
    actions = [0, 1, 1, 2, 2, 2, 1, 0] * 40  # stay/FIRE, right, left: the paddle zigzags

    def final_frames(sticky: float) -> list[np.ndarray]:
        ecfg = dataclasses.replace(evaluation_config(cfg, sticky=sticky), start_steps_max=0)
        frames = []
        for seed in (1, 2):
            game = AtariGame(ecfg, seed)
            frame = game.reset()
            for a in actions:
                frame, *_ = game.step(a)
            frames.append(frame)
        return frames

    same = final_frames(0.0)
    assert np.array_equal(same[0], same[1])
    varied = final_frames(0.25)
    assert not np.array_equal(varied[0], varied[1])

    # Through evaluate: the same seed plays the same sampled games without sticky actions, and
    # other games with them (an evaluation that only recorded --sticky would repeat itself).
    def games(sticky: float) -> list[tuple[float, int]]:
        result = evaluate(model, cfg, 3, greedy=False, max_episode_frames=5_000, sticky=sticky)
        assert result["protocol"]["repeat_action_probability"] == sticky
        return [(g["score"], g["frames"]) for g in result["games"]]

    plain = games(0.0)
    assert games(0.0) == plain
    assert games(0.25) != plain
    bad = call_a3c("evaluate", str(checkpoint), "--sticky", "1.5")
    assert bad.returncode == 2 and "--sticky 1.5 must be in [0, 1)" in bad.stderr
