"""Train one preset on several Atari games, evaluate each on the standard protocol, tabulate.

For each game: train (or continue) RUNS/<game> with `a3c train --preset P --env ALE/<Game>-v5
--frames F` until its checkpoint reaches F frames; copy that checkpoint to
MODELS/<game>-a3c-<P>-<F>.pt and evaluate the copy through Gymnasium's pipeline (sticky actions
0.25, sampled, `--episodes` games); play a uniformly random agent through the same pipeline.
Every step's result is cached under OUT (a finished step is read, not run again), and a kept
model stands in for a run directory that is gone, so the script can be stopped and started again
at any point; the table is printed at the end:

    .venv/bin/python experiments/games.py Pong SpaceInvaders Qbert BeamRider Seaquest \\
        --preset atari --frames 20000000 --runs /tmp/games --out experiments/results/games \\
        --models models --plot docs/games.png

Training takes both cores. Two games can train at once, one core each, with two invocations of
one game each and `--learners-per-process 8` (one process of 8 learners per game). A seed other
than 1 trains a separate run of each game: RUNS/<Game>-seed<N>, OUT/<Game>-seed<N> and
MODELS/<game>-a3c-<P>-<F>-seed<N>.pt (`a3c plot OUT/Pong OUT/Pong-seed2` draws both in one panel).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from eval_matrix import run_cell  # this folder's script: one evaluation, cached

from a3c.checkpoint import list_checkpoints, load_checkpoint
from a3c.config import make_config
from a3c.evaluate import EVAL_SEED_BASE, make_gymnasium_atari

A3C = str(Path(sys.executable).with_name("a3c"))

# Published figures nearest our budget: rl-baselines-zoo's A2C after 1e7 steps (40M frames;
# its benchmark.md, NoFrameskip-v4 ids) and the A3C paper's feed-forward agent after 1 day on
# 16 threads (Mnih et al. 2016, Table S3, human starts: not our no-op starts).
PUBLISHED = {
    "Pong": {"a2c_zoo_40M": 19.0, "a3c_paper_ff_1day": 11.4},
    "SpaceInvaders": {"a2c_zoo_40M": 658.9, "a3c_paper_ff_1day": 2214.7},
    "Qbert": {"a2c_zoo_40M": 5742.3, "a3c_paper_ff_1day": 13752.3},
    "BeamRider": {"a2c_zoo_40M": 2809.1, "a3c_paper_ff_1day": 13235.9},
    "Seaquest": {"a2c_zoo_40M": 746.4, "a3c_paper_ff_1day": 2300.2},
    "Breakout": {"a2c_zoo_40M": 384.9, "a3c_paper_ff_1day": 551.6},
}


def train(
    game: str, run: Path, model: Path, frames: int, seed: int, preset: str, per_process: int
) -> tuple[Path, dict[str, Any]]:
    """A checkpoint of at least `frames` frames, and its contents: the run's newest, else the
    model kept earlier.

    The kept model stands in when the run directory is gone (runs live under /tmp), so that
    redrawing the table never starts a finished game again from scratch.
    """
    found = list_checkpoints(run / "checkpoints") if run.exists() else []
    if found and (ckpt := load_checkpoint(found[-1]))["frames"] >= frames:
        return found[-1], ckpt
    if not found and model.exists() and (ckpt := load_checkpoint(model))["frames"] >= frames:
        return model, ckpt
    if found:
        command = [A3C, "train", "--resume", str(run), "--frames", str(frames)]
    else:
        command = [A3C, "train", "--preset", preset, "--env", f"ALE/{game}-v5"]
        command += ["--frames", str(frames), "--seed", str(seed), "--run-dir", str(run)]
        if per_process:
            command += ["--learners-per-process", str(per_process)]
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command, check=False)
    found = list_checkpoints(run / "checkpoints")
    if done.returncode != 0 or not found or (ckpt := load_checkpoint(found[-1]))["frames"] < frames:
        raise SystemExit(f"{game}: training stopped early (status {done.returncode})")
    return found[-1], ckpt


def random_agent(game: str, episodes: int, path: Path, preset: str) -> dict[str, Any]:
    """Uniformly random actions over the game's minimal set, through the same pipeline."""
    if not path.exists():
        cfg = make_config(preset, overrides={"env_id": f"ALE/{game}-v5"})
        env = make_gymnasium_atari(cfg, 0.25, 108_000, fire=False)
        rng = np.random.default_rng(EVAL_SEED_BASE)
        scores = []
        for i in range(episodes):
            env.reset(seed=EVAL_SEED_BASE + i)
            score, over = 0.0, False
            while not over:
                _, reward, terminated, truncated, _ = env.step(
                    int(rng.integers(env.action_space.n))
                )
                score += float(reward)
                over = terminated or truncated
            scores.append(score)
        env.close()
        path.write_text(json.dumps({"mean": statistics.mean(scores), "scores": scores}))
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("games", nargs="+", help="ALE game names, e.g. Pong SpaceInvaders")
    parser.add_argument("--preset", default="atari", help="the same for every game")
    parser.add_argument("--frames", type=int, default=20_000_000)
    parser.add_argument(
        "--learners-per-process", type=int, default=0, help="0: the preset's (4: two processes)"
    )
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=Path, required=True, help="where the runs train")
    parser.add_argument("--out", type=Path, required=True, help="results (JSON, run files)")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--plot", type=Path, help="also draw the curves, a panel per game")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.models.mkdir(parents=True, exist_ok=True)
    rows = []
    suffix = "" if args.seed == 1 else f"-seed{args.seed}"  # seed 1's names predate seeds
    for game in args.games:
        run = args.runs / f"{game}{suffix}"
        model = args.models / f"{game.lower()}-a3c-{args.preset}-{args.frames / 1e6:g}M{suffix}.pt"
        checkpoint, ckpt = train(
            game, run, model, args.frames, args.seed, args.preset, args.learners_per_process
        )
        kept = args.out / f"{game}{suffix}"
        kept.mkdir(exist_ok=True)
        if checkpoint != model:
            for name in ("config.json", "episodes.csv", "train.csv"):
                shutil.copy(run / name, kept / name)
            if not model.exists() or not filecmp.cmp(checkpoint, model, shallow=False):
                shutil.copy(checkpoint, model)
                for stale in kept.glob(f"{model.stem}__*.json"):  # the replaced model's scores
                    stale.unlink()
        # The kept model is what is evaluated: KEPT/<model>__gymnasium__sticky0.25__sample.json.
        result = run_cell(kept, model, "gymnasium", 0.25, "sample", args.episodes)
        rand = random_agent(game, args.episodes, kept / "random.json", args.preset)
        rows.append((game, kept, ckpt, result, rand))
    if args.plot is not None:
        runs = [str(kept) for _, kept, *_ in rows]
        subprocess.run([A3C, "plot", *runs, "-o", str(args.plot), "--x", "hours"], check=True)
    print(
        f"| game | frames | training time | ours, sampled ({args.episodes} games, sticky 0.25)"
        " | random | A2C zoo, 40M | A3C paper FF, 1 day (human starts) |"
    )
    print("|---|---|---|---|---|---|---|")
    for game, kept, ckpt, result, rand in rows:
        hours = ckpt.get("wall_s", 0.0) / 3600
        pub = PUBLISHED.get(game, {})
        print(
            f"| {kept.name} | {ckpt['frames'] / 1e6:.1f}M | {hours:.1f} h | {result['mean']:.1f} ± "
            f"{result['std']:.1f} | {rand['mean']:.1f} | {pub.get('a2c_zoo_40M', '-')} | "
            f"{pub.get('a3c_paper_ff_1day', '-')} |"
        )


if __name__ == "__main__":
    main()
