"""Every script in experiments/ run as a user runs it, at a tiny budget, so that none rots unseen.

Each test starts `python experiments/NAME.py ...` from the repository root in a child process,
with every output and run directory pointed into pytest's tmp_path, and checks what the script
promises to write or print. The scripts that evaluate share one tiny in-process run of the seed
preset on Breakout (three checkpoints, a few finished games): a near-random agent whose games
are short in every pipeline, greedy or sampled, since FIRE is pressed after each lost life.
"""

from __future__ import annotations

import csv
import filecmp
import itertools
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from a3c.checkpoint import checkpoint_frames, list_checkpoints, load_checkpoint
from a3c.config import Config, config_from_dict, resume_config
from a3c.metrics import read_episodes
from a3c.trainer import Trainer

pytestmark = pytest.mark.slow  # trains runs and starts the scripts in child processes

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def script(name: str, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python experiments/NAME.py ARGS...` from the repository root; it must exit 0."""
    result = subprocess.run(
        [sys.executable, f"experiments/{name}.py", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{name}.py exited {result.returncode}:\n{result.stderr}"
    return result


def table(stdout: str) -> list[list[str]]:
    """The rows of the markdown table in `stdout`, header first, without the |---| line."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in stdout.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


def phase_cell(scores: list[float]) -> str:
    """A cell of start_phase.py's table: the games' mean score and their number."""
    return f"{statistics.mean(scores):.1f} ({len(scores)})" if scores else "-"


def describe(result: dict[str, Any]) -> str:
    """A cell of eval_matrix.py's and protocol_variants.py's tables."""
    return f"{result['mean']:.1f} ± {result['std']:.1f} (median {result['median']:g})"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run of the seed preset on Breakout, trained in three legs: three checkpoints."""
    path = tmp_path_factory.mktemp("experiments") / "run"
    Trainer(
        Config(workers=1, learners_per_process=1, t_max=5, frames=1500), path, serial=True
    ).run()
    for frames in (3000, 4500):
        ckpt = load_checkpoint(list_checkpoints(path / "checkpoints")[-1])
        cfg, changes = resume_config(config_from_dict(ckpt["config"]), {"frames": frames})
        Trainer(cfg, path, serial=True, resume=ckpt, resume_changes=changes).run()
    assert len(list_checkpoints(path / "checkpoints")) == 3
    assert len(read_episodes(path)[0]) >= 2
    return path


@pytest.fixture(scope="module")
def checkpoint(run: Path) -> Path:
    return list_checkpoints(run / "checkpoints")[-1]


@pytest.fixture(scope="module")
def sweep(
    run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """checkpoint_sweep.py over the run's three checkpoints, one game each: its OUT and output."""
    out = tmp_path_factory.mktemp("sweep")
    checkpoints = list_checkpoints(run / "checkpoints")
    result = script(
        "checkpoint_sweep", *checkpoints, "--every", "1000000000", "--episodes", "1",
        "--out", out / "cells", "--run", run, "--plot", out / "sweep.png",
    )  # fmt: skip
    return out, result


def test_checkpoint_sweep_evaluates_the_first_and_newest_checkpoint_and_plots(
    run: Path, sweep: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, result = sweep
    first, middle, newest = list_checkpoints(run / "checkpoints")
    # --every larger than the run: the first checkpoint and the newest, not the one between.
    assert not list((out / "cells").glob(f"{middle.stem}__*"))
    with open(out / "cells" / "sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["frames"]) for r in rows] == [checkpoint_frames(first), checkpoint_frames(newest)]
    for row, ckpt in zip(rows, (first, newest), strict=True):
        cell = out / "cells" / f"{ckpt.stem}__gymnasium__sticky0.25__sample__seed1000.json"
        evaluation = json.loads(cell.read_text())
        assert evaluation["pipeline"] == "gymnasium" and evaluation["episodes"] == 1
        assert evaluation["protocol"]["policy"] == "sample"
        assert evaluation["protocol"]["repeat_action_probability"] == 0.25
        assert evaluation["protocol"]["seed"] == 1000
        for key in ("mean", "std", "median"):
            assert float(row[key]) == evaluation[key]
    assert len(table(result.stdout)) == 1 + 2
    best = max(rows, key=lambda r: float(r["mean"]))
    assert f"best: {int(best['frames']) / 1e6:.1f}M frames, {float(best['mean']):.1f}" in (
        result.stdout
    )
    assert is_png(out / "sweep.png")


def test_checkpoint_sweep_tabulates_every_checkpoint_cached_under_its_protocol(
    run: Path, sweep: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """A later call that sweeps only the middle checkpoint still reports all three; a cached
    cell played for another number of games is left out rather than mixed into the table."""
    first, middle, newest = list_checkpoints(run / "checkpoints")
    cells = tmp_path / "cells"
    shutil.copytree(sweep[0] / "cells", cells)
    (cells / "sweep.csv").unlink()
    other = cells / "ckpt_000000000005__gymnasium__sticky0.25__sample__seed1000.json"
    other.write_text(json.dumps({"episodes": 7, "mean": 1e6, "std": 0.0, "median": 1e6}))
    result = script("checkpoint_sweep", middle, "--episodes", "1", "--out", cells)
    with open(cells / "sweep.csv") as fh:
        rows = list(csv.DictReader(fh))
    expected = [checkpoint_frames(path) for path in (first, middle, newest)]
    assert [int(r["frames"]) for r in rows] == expected
    assert len(table(result.stdout)) == 1 + 3
    assert "1000000.0" not in result.stdout

    # Sweeping a checkpoint whose cell holds another number of games stops before any play.
    written = {path: path.stat().st_mtime_ns for path in cells.iterdir()}
    refused = subprocess.run(
        [sys.executable, "experiments/checkpoint_sweep.py", first, newest, "--episodes", "2",
         "--out", cells],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {cells / f'{first.stem}__gymnasium__sticky0.25__sample__seed1000.json'} "
        "was played with --episodes 1, not 2; pass --episodes 1 or another --out"
    )
    assert {path: path.stat().st_mtime_ns for path in cells.iterdir()} == written


def test_start_phase_tabulates_scores_by_phase_and_refuses_own_pipeline_files(
    sweep: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    files = sorted((sweep[0] / "cells").glob("*.json"))
    assert len(files) == 2
    result = script("start_phase", *files, "--pool")
    rows = table(result.stdout)
    assert rows[0][1:] == [f"phase {p}: mean (games)" for p in range(4)]
    pooled: dict[int, list[float]] = {p: [] for p in range(4)}
    expected = []
    for path in files:
        phases: dict[int, list[float]] = {p: [] for p in range(4)}
        for game in json.loads(path.read_text())["games"]:
            phases[game["noops"] % 4].append(game["score"])
            pooled[game["noops"] % 4].append(game["score"])
        expected.append([path.stem, *(phase_cell(phases[p]) for p in range(4))])
    expected.append(["all of the above", *(phase_cell(pooled[p]) for p in range(4))])
    assert rows[1:] == expected

    own = tmp_path / "own.json"
    own.write_text(json.dumps({"pipeline": "own", "games": []}))
    refused = subprocess.run(
        [sys.executable, "experiments/start_phase.py", str(own)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "not a Gymnasium-pipeline evaluation" in refused.stderr


def test_eval_matrix_writes_all_eight_cells_and_reads_them_back(
    checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "matrix"
    result = script("eval_matrix", checkpoint, "--episodes", "1", "--out", out)
    cells = {}
    for pipeline, sticky, policy in itertools.product(
        ("own", "gymnasium"), (0.0, 0.25), ("sample", "greedy")
    ):
        path = out / f"{checkpoint.stem}__{pipeline}__sticky{sticky:g}__{policy}.json"
        evaluation = json.loads(path.read_text())
        assert evaluation["pipeline"] == pipeline and evaluation["episodes"] == 1
        assert evaluation["protocol"]["policy"] == policy
        assert evaluation["protocol"]["repeat_action_probability"] == sticky
        cells[pipeline, sticky, policy] = evaluation
    assert len(list(out.iterdir())) == 8
    expected = [
        [f"`{checkpoint.name}`", pipeline, f"{sticky:g}"]
        + [describe(cells[pipeline, sticky, policy]) for policy in ("sample", "greedy")]
        for pipeline, sticky in itertools.product(("own", "gymnasium"), (0.0, 0.25))
    ]
    assert table(result.stdout)[1:] == expected

    # A second call reads every cell from its file: nothing is evaluated or written again.
    written = {path: path.stat().st_mtime_ns for path in out.iterdir()}
    again = script("eval_matrix", checkpoint, "--episodes", "1", "--out", out, timeout=60)
    assert again.stdout == result.stdout
    assert {path: path.stat().st_mtime_ns for path in out.iterdir()} == written

    # Asking for another number of games refuses the cache, exit status 2, and writes nothing.
    refused = subprocess.run(
        [sys.executable, "experiments/eval_matrix.py", checkpoint, "--episodes", "3",
         "--out", out],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().startswith(f"error: {out / checkpoint.stem}__own__sticky0__")
    assert refused.stderr.strip().endswith(
        "was played with --episodes 1, not 3; pass --episodes 1 or another --out"
    )
    assert {path: path.stat().st_mtime_ns for path in out.iterdir()} == written


def test_fire_start_gap_records_each_games_fire_start_steps(
    checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fire" / "games.json"
    result = script("fire_start_gap", checkpoint, "--games", "2", "--out", out)
    data = json.loads(out.read_text())
    assert data["start_mode"] == "fire"  # the seed preset's start steps
    games = data["games"]
    assert len(games) == 2
    assert all(1 <= g["start_steps"] <= 30 and g["score"] >= 0 for g in games)
    mean = statistics.mean(g["score"] for g in games)
    assert result.stdout.startswith(f"2 games, start mode 'fire': {mean:.1f} ± ")
    assert "nan" not in result.stdout  # a tiny model's equal scores have no correlation to print
    scores, starts = ({g[k] for g in games} for k in ("score", "start_steps"))
    corr = result.stdout.split("correlation with start steps ")[1].splitlines()[0]
    if len(scores) == 1 or len(starts) == 1:
        assert corr == "undefined (no variation)"
    else:
        assert -1 <= float(corr) <= 1


def test_greedy_stall_reports_the_last_reward_and_the_balls_range() -> None:
    # The shipped agent scores within 2,000 agent steps; the cap truncates the game there.
    result = script(
        "greedy_stall",
        "models/breakout-a3c-atari-200M.pt",
        "--max-frames",
        "8000",
        "--probe",
        "1900",
        "--window",
        "50",
    )
    lines = result.stdout.splitlines()
    score, steps = int(lines[0].split()[1]), int(lines[0].split()[3])
    assert score > 0 and 1990 <= steps <= 2000 and lines[0].endswith("(truncated)")
    last, lives = lines[1].removeprefix("last reward at step ").split("; lives left ")
    assert 0 < int(last) <= steps and 0 < int(lives) <= 5
    assert lines[2].startswith("ball over steps 1900-1949: y ")


def test_protocol_variants_plays_the_model_through_every_variant(
    checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "variants"
    result = script("protocol_variants", checkpoint, "--episodes", "1", "--out", out)
    variants = ["standard", "fire", "fire-restart", "full-actions", "bilinear", "v4-sb3"]
    rows = table(result.stdout)
    assert rows[0][3] == "sampled, 1 games"
    assert [row[1] for row in rows[1:]] == variants
    for row, name in zip(rows[1:], variants, strict=True):
        evaluation = json.loads(
            (out / f"{checkpoint.stem}__{name}__sample__seed2000.json").read_text()
        )
        assert evaluation["pipeline"] == "gymnasium, protocol variant"
        assert evaluation["episodes"] == 1 and len(evaluation["games"]) == 1
        assert evaluation["protocol"]["variant"] == name
        assert evaluation["protocol"]["policy"] == "sample"
        assert row[0] == f"`{checkpoint.name}`" and row[3] == describe(evaluation)
    assert len(list(out.iterdir())) == len(variants)


def test_compare_curves_plots_runs_and_tabulates_mean_scores_per_bucket(
    run: Path, tmp_path: Path
) -> None:
    frames, scores = read_episodes(run)
    limit = frames[-1] - 1  # the cut leaves the last game out
    output = tmp_path / "curves.png"
    result = script(
        "compare_curves", run, run, "-o", output, "--labels", "a", "b", "--window", "2",
        "--frames", str(limit), "--buckets", "2",
    )  # fmt: skip
    assert is_png(output)
    rows = table(result.stdout)
    assert rows[0][-1] == "last 100 games" and len(rows[0]) == 1 + 2 + 1
    edges = [0, limit / 2, limit]
    expected = []
    for lo, hi in itertools.pairwise(edges):
        inside = [s for f, s in zip(frames, scores, strict=True) if lo < f <= hi]
        expected.append(f"{statistics.mean(inside):.1f}" if inside else "-")
    last = f"{statistics.mean(scores[:-1]):.1f}"
    assert rows[1:] == [["a", *expected, last], ["b", *expected, last]]
    assert f"wrote {output}" in result.stdout


def test_compare_curves_from_a_branch_point_with_train_columns(run: Path, tmp_path: Path) -> None:
    """--start leaves out what comes before it, in the games and in train.csv's columns."""
    from a3c.metrics import read_rows

    frames, scores = read_episodes(run)
    start, limit = frames[len(frames) // 2], frames[-1]
    output = tmp_path / "curves.png"
    result = script(
        "compare_curves", run, "-o", output, "--start", str(start), "--buckets", "1",
        "--train-columns", "grad_norm", "--episode-columns", "avg_max_prob",
    )  # fmt: skip
    assert is_png(output)
    after = [s for f, s in zip(frames, scores, strict=True) if f > start]
    rows = table(result.stdout.split("\n\n")[0])
    assert rows[1] == ["run", f"{statistics.mean(after):.1f}", f"{statistics.mean(after):.1f}"]
    train, _ = read_rows(run / "train.csv", ("frames",))
    norms = [
        float(r["grad_norm"]) for r in train if r["grad_norm"] and start < int(r["frames"]) <= limit
    ]
    grad = table(result.stdout.split("\n\n")[1])
    assert grad[0][0] == "grad_norm (train.csv)" and len(grad) == 2
    assert norms and grad[1] == ["run", f"{statistics.mean(norms):.4g}"]
    probs = [float(r["avg_max_prob"]) for r in read_rows(run / "episodes.csv", ("frames",))[0]]
    top = [p for p, f in zip(probs, frames, strict=True) if f > start]
    prob = table(result.stdout.split("\n\n")[2])
    assert prob == [
        [
            "avg_max_prob (episodes.csv)",
            "{}–{}M".format(*(f"{round(x / 1e6, 1):g}" for x in (start, limit))),
        ],
        ["run", f"{statistics.mean(top):.4g}"],
    ]
    late = subprocess.run(
        [sys.executable, "experiments/compare_curves.py", run, "-o", output, "--start", str(limit)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert late.returncode == 2 and f"after {limit:,}" in late.stderr


def test_compare_curves_gives_empty_cells_to_a_run_without_games(run: Path, tmp_path: Path) -> None:
    """A run that has not finished a game yet (just started) is tabulated, not a crash."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(run / "config.json", fresh / "config.json")
    (fresh / "episodes.csv").write_text((run / "episodes.csv").read_text().splitlines()[0] + "\n")
    assert read_episodes(fresh) == ([], [])
    output = tmp_path / "curves.png"
    result = script("compare_curves", run, fresh, "-o", output, "--buckets", "2")
    assert is_png(output)
    rows = table(result.stdout)
    assert rows[2] == ["fresh", "-", "-", "-"]
    assert rows[1][0] == "run" and "-" not in rows[1][-1]


def test_learning_run_trains_evaluates_plots_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "learning"
    result = script(
        "learning_run", "--frames", "2000", "--out", out, "--episodes", "1",
        "--", "--workers", "1", "--learners-per-process", "1",
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert summary["frames"] == 2000 and summary["preset"] == "seed"
    assert summary["config"]["workers"] == 1  # the options after -- reached `a3c train`
    assert summary["evaluation"]["episodes"] == evaluation["episodes"] == 1
    assert summary["evaluation"]["mean"] == evaluation["mean"]
    assert summary["protocol"] == evaluation["protocol"]
    assert summary["wall_s"] >= 0 and "cores" in summary["machine"]
    assert load_checkpoint(list_checkpoints(out / "run" / "checkpoints")[-1])["frames"] >= 2000
    assert is_png(out / "curve.png")
    assert "evaluation mean" in result.stdout


def test_paired_runs_trains_each_arm_with_its_overrides_and_summarises(tmp_path: Path) -> None:
    out, runs = tmp_path / "pairs", tmp_path / "runs"
    # Each arm's budget ends it well before the one-minute deadline.
    script(
        "paired_runs", "--out", out, "--runs-dir", runs, "--minutes", "1", "--preset", "seed",
        "--frames", "2000", "--workers", "1", "--arm", "base",
        "--arm", "t5:t_max=5,entropy_coef=0.02",
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["preset"], summary["seed"], summary["minutes"]) == ("seed", 1, 1.0)
    assert "paired_runs.py" in summary["command"] and summary["commit"]  # the folder's provenance
    assert summary["base"]["overrides"] == {}
    assert summary["t5"]["overrides"] == {"t_max": 5, "entropy_coef": 0.02}
    for arm, t_max in (("base", 20), ("t5", 5)):
        config = json.loads((out / arm / "config.json").read_text())
        assert (config["t_max"], config["workers"], config["seed"]) == (t_max, 1, 1)
        with open(out / arm / "episodes.csv") as fh:
            games = list(csv.DictReader(fh))
        assert summary[arm]["games"] == len(games)
        assert summary[arm]["frames"] >= 2000  # what the arm trained, not its last game's frame
        assert (out / arm / "train.csv").is_file() and (out / f"{arm}.log").is_file()
        (trained,) = runs.glob(f"*-{arm}")  # the run itself, under --runs-dir
        assert load_checkpoint(list_checkpoints(trained / "checkpoints")[-1])["frames"] >= 2000
    assert config["entropy_coef"] == 0.02


def test_first_layer_trains_an_arm_reads_its_health_and_tabulates_it(tmp_path: Path) -> None:
    out, runs = tmp_path / "first-layer", tmp_path / "runs"
    at = ["0", "2000"]
    common: list[str | Path] = ["fix", "--at", *at, "--runs", runs, "--out", out]
    result = script(
        "first_layer", *common, "--arms", "centre", "--frames", "2000", "--health-s", "0.5"
    )
    summary = json.loads((out / "centre-s1.json").read_text())
    assert (summary["arm"], summary["seed"], summary["preset"]) == ("centre", 1, "atari")
    assert summary["env"] == "ALE/Pong-v5" and summary["frames"] == 2000
    assert summary["settings"] == {"lr_schedule": "constant", "pixel_input": "centre"}
    readings = summary["readings"]
    assert set(readings) == set(at)
    assert readings["0"]["frames"] == 0  # the first measurement is of the starting weights
    for reading in readings.values():
        assert 0 <= reading["dead_conv1"] <= 16 and 0 <= reading["dead_conv2"] <= 32
        assert isinstance(reading["blind"], bool)
    assert summary["commit"]
    assert filecmp.cmp(out / "centre-s1.train.csv", runs / "centre-s1" / "train.csv")
    with open(runs / "centre-s1" / "config.json") as fh:
        assert json.load(fh)["pixel_input"] == "centre"
    dead = " / ".join(str(readings[f]["dead_conv1"]) for f in at)
    line = f"centre s1: dead conv1 {dead} | last 20 games {summary['last_20_games']}"
    assert result.stdout.strip() == line

    rows = table(script("first_layer", *common, "--table").stdout)
    assert rows[0][-1] == "dead of 16 at 0k / 2k"
    by_arm = {row[0]: row[-1] for row in rows[1:]}
    assert by_arm == {
        "atari": "not run", "centre": f"s1: {dead}", "background": "not run",
        "torch-init": "not run", "pfrl-learning": "not run",
    }  # fmt: skip


def test_background_levels_counts_each_screens_level(tmp_path: Path) -> None:
    out = tmp_path / "levels.json"
    result = script("background_levels", "Breakout", "--out", out)
    # Breakout's field is black on every screen of random play: its input is left unchanged.
    assert json.loads(out.read_text()) == {"Breakout": {"0": 200}}
    assert result.stdout == "Breakout: 200 screens; level: screens 0: 200\n"


def test_games_trains_evaluates_keeps_the_model_and_tabulates_a_game(tmp_path: Path) -> None:
    runs, out, models = tmp_path / "runs", tmp_path / "out", tmp_path / "models"
    args = (
        "games", "Breakout", "--frames", "2000", "--learners-per-process", "8", "--episodes", "1",
        "--runs", runs, "--out", out, "--models", models, "--plot", tmp_path / "games.png",
    )  # fmt: skip
    result = script(*args)
    assert "train --preset atari --env ALE/Breakout-v5 --frames 2000 --seed 1" in result.stdout
    model = models / "breakout-a3c-atari-0.002M.pt"
    assert not (ROOT / "models" / model.name).exists()
    newest = load_checkpoint(list_checkpoints(runs / "Breakout" / "checkpoints")[-1])
    ckpt = load_checkpoint(model)  # the newest checkpoint, shipped without the optimizer's state
    assert "optimizer" not in ckpt and "optimizer" in newest
    assert all(ckpt["model"][k].equal(v) for k, v in newest["model"].items())
    assert ckpt["frames"] == newest["frames"] >= 2000
    assert ckpt["config"]["env_id"] == "ALE/Breakout-v5"
    kept = out / "Breakout"
    for name in ("config.json", "episodes.csv", "train.csv"):
        assert filecmp.cmp(kept / name, runs / "Breakout" / name, shallow=False), name
    evaluation = json.loads(
        (kept / f"{model.stem}__gymnasium__sticky0.25__sample.json").read_text()
    )
    assert evaluation["pipeline"] == "gymnasium" and evaluation["episodes"] == 1
    no_sticky = json.loads((kept / f"{model.stem}__gymnasium__sticky0__sample.json").read_text())
    assert no_sticky["protocol"]["repeat_action_probability"] == 0.0 and no_sticky["episodes"] == 1
    random = json.loads((kept / "random.json").read_text())
    assert len(random["scores"]) == 1 and random["mean"] == random["scores"][0]
    assert is_png(tmp_path / "games.png")
    rows = table(result.stdout)
    assert len(rows) == 2
    assert rows[0][3:6] == ["ours at 0.0005M", "ours at 0.001M", "ours at 0.002M"]
    game, frames, _, *at, ours, ours_no_sticky, rand, sb3_zoo, zoo, pfrl, paper = rows[1]
    assert (game, frames) == ("Breakout", f"{ckpt['frames'] / 1e6:.1f}M")
    assert at == ["-", "-", "-"]  # fewer than 100 games by then: no training mean
    assert ours == f"{evaluation['mean']:.1f} ± {evaluation['std']:.1f}"
    assert ours_no_sticky == f"{no_sticky['mean']:.1f} ± {no_sticky['std']:.1f}"
    assert rand == f"{random['mean']:.1f}"
    assert (sb3_zoo, zoo, pfrl, paper) == ("279.8", "384.9", "581.0", "551.6")

    # With the run gone the kept model stands in: nothing trains, the table is the same.
    shutil.rmtree(runs)
    again = script(*args)
    assert "$ " not in again.stdout and table(again.stdout) == table(result.stdout)
    # A kept model of another recipe under the same name (the preset changed since) is refused.
    data = torch.load(model, weights_only=False)
    data["config"]["pixel_input"] = "centre"
    torch.save(data, model)
    before = model.read_bytes()
    refused = subprocess.run(
        [sys.executable, "experiments/games.py", *map(str, args[1:])],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "pixel_input: 'centre' -> 'background'" in refused.stderr
    assert model.read_bytes() == before and not runs.exists()
