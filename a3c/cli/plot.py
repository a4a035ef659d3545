"""`a3c plot`: learning curves of runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from a3c.cli.common import fail
from a3c.cli.output import format_duration


def add_parser(sub: Any) -> None:
    plot = sub.add_parser(
        "plot",
        help="plot learning curves of runs",
        description="Raw game score against emulator frames, one line per run (a rolling "
        "mean over faint dots for single games), from the runs' episodes.csv files.",
    )
    plot.add_argument(
        "runs", nargs="+", type=Path, metavar="RUN_DIR", help="run directories of `a3c train`"
    )
    plot.add_argument(
        "-o", "--output", type=Path, required=True, metavar="PATH.png", help="image to write"
    )
    plot.add_argument("--labels", nargs="+", help="one label per run (default: directory names)")
    plot.add_argument(
        "--window", type=int, default=100, help="games in the rolling mean (default: 100)"
    )
    plot.add_argument(
        "--x",
        choices=("frames", "hours"),
        default="frames",
        help="horizontal axis: emulator frames or hours of training (default: frames)",
    )
    plot.add_argument(
        "--milestones",
        metavar="S1,S2,...",
        help="also print, for each run, the frames and training time at which the rolling "
        "mean first reached each of these scores, e.g. 100,200,300,400",
    )
    plot.add_argument(
        "--at",
        metavar="F1,F2,...",
        help="also print, for each run, the mean of its last --window games at each of these "
        "frame budgets (scores at equal frames), e.g. 10M,20M,40M",
    )
    plot.set_defaults(handler=run)


def parse_budgets(text: str) -> list[int]:
    """'10M,20M,40M' or '500k,1e6' -> frames; ValueError on anything else or a budget <= 0."""
    scale = {"k": 1e3, "m": 1e6}
    budgets = []
    for item in text.split(","):
        item = item.strip().lower()
        factor = scale.get(item[-1:], 1.0)
        value = float(item[:-1] if item[-1:] in scale else item) * factor
        if not value > 0:
            raise ValueError(item)
        budgets.append(round(value))
    return budgets


def run(args: argparse.Namespace) -> int:
    from a3c.plot import RunDataError, milestones, plot_runs, scores_at

    if args.labels and len(args.labels) != len(args.runs):
        fail(f"--labels gives {len(args.labels)} labels for {len(args.runs)} runs")
    if args.window < 1:
        fail(f"--window {args.window} must be at least 1")
    if args.output.suffix.lower() != ".png":
        fail(f"-o {str(args.output)!r} must end in .png")
    thresholds: list[float] = []
    if args.milestones is not None:
        try:
            thresholds = [float(t) for t in args.milestones.split(",")]
        except ValueError:
            fail(
                f"--milestones {args.milestones!r} must be scores separated by commas, e.g. 100,200"
            )
    budgets: list[int] = []
    if args.at is not None:
        try:
            budgets = parse_budgets(args.at)
        except ValueError:
            fail(f"--at {args.at!r} must be frame budgets separated by commas, e.g. 10M,20M,40M")
    try:
        curves = plot_runs(args.runs, args.output, args.labels, args.window, x=args.x)
    except RunDataError as err:
        fail(str(err))
    print(f"wrote {args.output}")
    names = args.labels or [str(run) for run in args.runs]
    for name, curve in zip(names, curves if thresholds else [], strict=False):
        print(f"{name}: mean of the last {args.window} games first reached")
        for threshold, hit in zip(
            thresholds, milestones(curve, thresholds, args.window), strict=True
        ):
            where = (
                "not reached"
                if hit is None
                else f"at {hit[0] / 1e6:.1f}M frames, {format_duration(hit[1])} of training"
            )
            print(f"  {threshold:g}: {where}")
    for name, curve in zip(names, curves if budgets else [], strict=False):
        print(f"{name}: mean of the last {args.window} games at")
        for budget, score in zip(budgets, scores_at(curve, budgets, args.window), strict=True):
            shown = "not reached" if score is None else f"{score:.1f}"
            print(f"  {budget / 1e6:g}M frames: {shown}")
    return 0
