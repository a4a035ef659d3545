"""Learning curves from runs' episodes.csv files: raw score against emulator frames."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from a3c.games import atari_rom
from a3c.metrics import Curve, RunDataError, read_curve

# Line styles of reference scores in a panel, in the order they are given.
REFERENCE_STYLES: tuple[str | tuple[int, tuple[int, int]], ...] = ("--", ":", "-.", (0, (1, 3)))


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Mean of the last `window` values at each position (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def milestones(
    curve: Curve, thresholds: list[float], window: int = 100
) -> list[tuple[int, float] | None]:
    """For each threshold, (frames, training seconds) at the first game at which the mean of
    the last `window` games reaches it; None if it never does. The mean counts only once
    `window` games exist, so one lucky early game is no milestone."""
    means = rolling_mean(curve.scores, window)
    out: list[tuple[int, float] | None] = []
    for threshold in thresholds:
        first = next((i for i in range(window - 1, len(means)) if means[i] >= threshold), None)
        out.append(None if first is None else (curve.frames[first], curve.wall_s[first]))
    return out


def scores_at(curve: Curve, frames: list[int], window: int = 100) -> list[float | None]:
    """For each budget F, the mean of the last `window` games finished at or before F frames:
    the training curve's score at equal frames. None where fewer than `window` games finished
    by F, or where the run stopped short of F (its last game ended before 0.99 F: a run trained
    to exactly F frames ends its last game a little before F)."""
    out: list[float | None] = []
    last = curve.frames[-1] if curve.frames else 0
    for budget in frames:
        inside = [s for f, s in zip(curve.frames, curve.scores, strict=True) if f <= budget]
        if len(inside) < window or last < 0.99 * budget:
            out.append(None)
        else:
            out.append(sum(inside[-window:]) / window)
    return out


def run_game(run: Path) -> str:
    """The game a run trained on, for grouping runs into panels: 'SpaceInvaders' for any id of
    an Atari game, else its env id; '' if the run has no readable config.json."""
    try:
        env_id = str(json.loads((run / "config.json").read_text())["env_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    rom = atari_rom(env_id)
    return env_id if rom is None else "".join(part.capitalize() for part in rom.split("_"))


def plot_runs(
    runs: list[Path],
    output: Path,
    labels: list[str] | None = None,
    window: int = 100,
    max_frames: int | None = None,
    x: Literal["frames", "hours"] = "frames",
    references: Mapping[str, Mapping[str, float]] | None = None,
    min_frames: int = 0,
) -> list[Curve]:
    """One line per run (rolling mean of `window` games) over faint dots for single games,
    against emulator frames or hours of training; one panel per game when runs of several
    games are given. `references` maps a game (as `run_game` names it) to labelled scores,
    drawn as dashed horizontal lines in its panel (published figures, a random agent). Games
    ending after `min_frames` and at most `max_frames` are drawn (branches of one run: from the
    branch). Returns the runs' curves as read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [read_curve(run) for run in runs]  # read all first: fail before drawing
    names = labels or [run.resolve().name for run in runs]
    games = [run_game(run) for run in runs]
    panels = list(dict.fromkeys(games))  # in the order the runs were given
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(8 if columns == 1 else 5 * columns, 4.5 * rows), squeeze=False
    )
    for curve, name, game in zip(curves, names, games, strict=True):
        ax = axes.flat[panels.index(game)]
        kept = [
            i
            for i, f in enumerate(curve.frames)
            if f > min_frames and (max_frames is None or f <= max_frames)
        ]
        scores = [curve.scores[i] for i in kept]
        if x == "hours":
            xs = [curve.wall_s[i] / 3600 for i in kept]
        else:
            xs = [curve.frames[i] / 1e6 for i in kept]
        (line,) = ax.plot(xs, rolling_mean(scores, window), label=f"{name} ({len(scores)} games)")
        ax.scatter(xs, scores, s=1, alpha=0.1, color=line.get_color())
    for game, marks in (references or {}).items():
        if game not in panels:
            continue
        ax = axes.flat[panels.index(game)]
        for i, (label, score) in enumerate(marks.items()):
            style = REFERENCE_STYLES[i % len(REFERENCE_STYLES)]
            ax.axhline(
                score, color="grey", linestyle=style, linewidth=1, label=f"{label}: {score:,.1f}"
            )
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        if len(panels) > 1:
            ax.set_title(panels[i] or "unknown game")
        ax.set_xlabel("hours of training" if x == "hours" else "emulator frames (millions)")
        ax.set_ylabel(f"raw game score (line: mean of last {window})")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return curves


__all__ = [
    "RunDataError",
    "milestones",
    "plot_runs",
    "rolling_mean",
    "run_game",
    "scores_at",
]
