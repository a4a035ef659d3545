"""Train one preset on several Atari games, evaluate each on the standard protocol, tabulate.

For each game: train (or continue) RUNS/<game> with `a3c train --preset P --env ALE/<Game>-v5
--frames F` until its checkpoint reaches F frames; export that checkpoint (without the
optimizer's state) to MODELS/<game>-a3c-<P>-<F>.pt and evaluate the model through Gymnasium's
pipeline (sampled, `--episodes` games) with sticky actions 0.25 (the standard protocol) and
without (the A2C zoos' protocol); play a uniformly random agent through the first.
Every step's result is cached under OUT (a finished step is read, not run again), and a kept
model stands in for a run directory that is gone, so the script can be stopped and started again
at any point. The table printed at the end compares at equal frames: the training curve at F/4,
F/2 and F beside the published figures (PUBLISHED), and `--plot` draws each game's curve
against frames with the random agent and the A2C zoos' 40M-frame figures as dashed lines:

    .venv/bin/python experiments/games.py Pong SpaceInvaders Qbert BeamRider Seaquest \\
        --preset atari --frames 40000000 --runs /tmp/games --out experiments/results/games-40M \\
        --models models --plot docs/games.png

Training takes both cores. Two games can train at once, one core each, with two invocations of
one game each and `--learners-per-process 8` (one process of 8 learners per game). A seed other
than 1 trains a separate run of each game: RUNS/<Game>-seed<N>, OUT/<Game>-seed<N> and
MODELS/<game>-a3c-<P>-<F>-seed<N>.pt (`a3c plot OUT/Pong OUT/Pong-seed2` draws both in one panel).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from eval_matrix import run_cell  # this folder's script: one evaluation, cached

from a3c.checkpoint import export_model, list_checkpoints, load_checkpoint
from a3c.config import PRESETS, config_from_dict, make_config
from a3c.evaluate import EVAL_SEED_BASE, make_gymnasium_atari
from a3c.metrics import read_curve
from a3c.plot import plot_runs, scores_at

A3C = str(Path(sys.executable).with_name("a3c"))

# Published figures, by source: (column label, {game: score}). Sources, commits and protocols:
# experiments/results/games/REFERENCES.md. The zoo rows are one run each, NoFrameskip-v4 ids
# (no sticky actions), stochastic policy, 10M agent steps (40M frames) with 16 environments.
PUBLISHED: dict[str, tuple[str, dict[str, float]]] = {
    "a2c_sb3_zoo": (
        "A2C, rl-baselines3-zoo, 40M",
        {
            "Pong": 17.3,
            "SpaceInvaders": 627.2,
            "Qbert": 3882.3,
            "BeamRider": 2890.3,
            "Seaquest": 1721.5,
            "Breakout": 279.8,
        },
    ),
    "a2c_zoo": (
        "A2C, rl-baselines-zoo, 40M",
        {
            "Pong": 19.0,
            "SpaceInvaders": 658.9,
            "Qbert": 5742.3,
            "BeamRider": 2809.1,
            "Seaquest": 746.4,
            "Breakout": 384.9,
        },
    ),
    # The best of its evaluations during training (mean of 3 seeds), 16 processes, no-op starts.
    "pfrl_a3c": (
        "PFRL A3C (best evaluation)",
        {
            "Pong": 20.9,
            "SpaceInvaders": 1043.5,
            "Qbert": 20721.9,
            "BeamRider": 8882.6,
            "Seaquest": 1781.9,
            "Breakout": 581.0,
        },
    ),
    # Mnih et al. 2016, feed-forward agent after 1 day on 16 threads, human starts.
    "a3c_paper_ff_1day": (
        "A3C paper FF, 1 day (human starts)",
        {
            "Pong": 11.4,
            "SpaceInvaders": 2214.7,
            "Qbert": 13752.3,
            "BeamRider": 13235.9,
            "Seaquest": 2300.2,
            "Breakout": 551.6,
        },
    ),
}


def recipe_changes(ckpt: dict[str, Any], preset: str) -> str:
    """The settings of `preset` that the checkpoint's config does not share, as 'name: theirs
    -> today's' (empty when it was trained with today's preset). The game and budget aside."""
    cfg = config_from_dict(ckpt["config"]).to_dict()
    today = make_config(preset).to_dict()
    keys = sorted(set(PRESETS[preset]) - {"env_id", "frames"})
    return ", ".join(f"{k}: {cfg[k]!r} -> {today[k]!r}" for k in keys if cfg[k] != today[k])


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
    if not found and model.exists():
        kept = load_checkpoint(model)
        if changed := recipe_changes(kept, preset):
            # One name has meant several recipes (the preset changed): a kept model of another
            # recipe is neither evaluated as today's nor overwritten.
            print(
                f"games.py: {model} was trained with another '{preset}' recipe ({changed}); "
                "move it away or pass --models DIR",
                file=sys.stderr,
            )
            sys.exit(2)
        if kept["frames"] >= frames:
            return model, kept
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


# The published figures drawn in the plot: the two A2C zoos, whose budget (40M frames) is ours.
PLOTTED = ("a2c_sb3_zoo", "a2c_zoo")


class Row(NamedTuple):
    """One game's results."""

    game: str
    kept: Path  # OUT/<game>: the run's config and metrics files and the evaluations
    ckpt: dict[str, Any]
    result: dict[str, Any]  # the standard protocol: sticky actions 0.25
    no_sticky: dict[str, Any]  # the A2C zoos' protocol: no sticky actions
    random: dict[str, Any]


def same_weights(ckpt: dict[str, Any], model: Path) -> bool:
    """Whether a loaded checkpoint and a kept model hold the same network at the same frames."""
    kept = load_checkpoint(model)
    if ckpt["frames"] != kept["frames"] or ckpt["model"].keys() != kept["model"].keys():
        return False
    return all(torch.equal(ckpt["model"][k], kept["model"][k]) for k in ckpt["model"])


def table(rows: list[Row], budgets: list[int], episodes: int) -> str:
    """The results as markdown: the training curve at each budget, the final evaluation, the
    random agent and every published figure."""
    at = " | ".join(f"ours at {b / 1e6:g}M" for b in budgets)
    pubs = " | ".join(label for label, _ in PUBLISHED.values())
    lines = [
        f"| game | frames | training time | {at} | ours, final, Gymnasium pipeline ({episodes} "
        f"games, sticky 0.25, sampled) | ours, final, no sticky actions | random (sticky 0.25) "
        f"| {pubs} |",
        "|---|" + "---|" * (5 + len(budgets) + len(PUBLISHED)),
    ]
    for row in rows:
        curve = scores_at(read_curve(row.kept), budgets)
        cells = " | ".join("-" if c is None else f"{c:.1f}" for c in curve)
        published = " | ".join(f"{scores.get(row.game, '-')}" for _, scores in PUBLISHED.values())
        lines.append(
            f"| {row.kept.name} | {row.ckpt['frames'] / 1e6:.1f}M | "
            f"{row.ckpt.get('wall_s', 0.0) / 3600:.1f} h | {cells} | {row.result['mean']:.1f} ± "
            f"{row.result['std']:.1f} | {row.no_sticky['mean']:.1f} ± {row.no_sticky['std']:.1f} "
            f"| {row.random['mean']:.1f} | {published} |"
        )
    lines.append("")
    lines.append(
        "'ours at F': mean of the last 100 training games finished by F frames (the training "
        "curve: sticky actions 0.25, sampled actions, lost lives as the preset treats them)."
    )
    return "\n".join(lines)


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
    parser.add_argument(
        "--plot", type=Path, help="also draw the curves against frames, a panel per game"
    )
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
            if not model.exists() or not same_weights(ckpt, model):
                export_model(checkpoint, model)  # shipped without the optimizer's state
                for stale in kept.glob(f"{model.stem}__*.json"):  # the replaced model's scores
                    stale.unlink()
        # The kept model is what is evaluated: KEPT/<model>__gymnasium__sticky0.25__sample.json.
        result = run_cell(kept, model, "gymnasium", 0.25, "sample", args.episodes)
        no_sticky = run_cell(kept, model, "gymnasium", 0.0, "sample", args.episodes)
        rand = random_agent(game, args.episodes, kept / "random.json", args.preset)
        rows.append(Row(game, kept, ckpt, result, no_sticky, rand))
    if args.plot is not None:
        references = {
            row.game: {
                "random": row.random["mean"],
                **{
                    label: pub[row.game]
                    for label, pub in (PUBLISHED[key] for key in PLOTTED)
                    if row.game in pub
                },
            }
            for row in rows
        }
        plot_runs([row.kept for row in rows], args.plot, references=references)
        print(f"wrote {args.plot}")
    budgets = [args.frames // 4, args.frames // 2, args.frames]
    print(table(rows, budgets, args.episodes))


if __name__ == "__main__":
    main()
