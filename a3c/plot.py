"""Learning curves from runs' episodes.csv files: raw score against emulator frames."""

from __future__ import annotations

from pathlib import Path

from a3c.metrics import RunDataError, read_rows


def read_episodes(run: Path) -> tuple[list[int], list[float]]:
    """(global frames, raw score) of every finished game of a run, in frame order.

    Damaged rows (a live run's half-written last row) are left out.
    """
    rows, _ = read_rows(run / "episodes.csv", ("frames", "score"))
    pairs = [(int(float(r["frames"])), float(r["score"])) for r in rows]
    pairs.sort(key=lambda pair: pair[0])  # learners report concurrently: nearly sorted
    return [f for f, _ in pairs], [s for _, s in pairs]


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Mean of the last `window` values at each position (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_runs(
    runs: list[Path],
    output: Path,
    labels: list[str] | None = None,
    window: int = 100,
    max_frames: int | None = None,
) -> None:
    """One line per run (rolling mean of `window` games) over faint dots for single games."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [read_episodes(run) for run in runs]  # read all first: fail before drawing
    names = labels or [run.resolve().name for run in runs]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (frames, scores), name in zip(data, names, strict=True):
        if max_frames is not None:
            kept = [i for i, f in enumerate(frames) if f <= max_frames]
            frames, scores = [frames[i] for i in kept], [scores[i] for i in kept]
        x = [f / 1e6 for f in frames]
        (line,) = ax.plot(x, rolling_mean(scores, window), label=f"{name} ({len(scores)} games)")
        ax.scatter(x, scores, s=1, alpha=0.1, color=line.get_color())
    ax.set_xlabel("emulator frames (millions)")
    ax.set_ylabel(f"raw game score (line: mean of last {window})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)


__all__ = ["RunDataError", "plot_runs", "read_episodes", "rolling_mean"]
