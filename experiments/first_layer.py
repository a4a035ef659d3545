"""Which setting kills Pong's first convolution? Short runs of arms, each a set of config values
over a preset, with the dead share of each layer read from the run's own health measurements.

Every arm trains `ALE/Pong-v5` from the same seed for `--frames` with a health measurement every
`--health-s` seconds (the run's train.csv), and reports, at the first measurement at or past each
of `--at`, the dead filters of the first convolution (of 16) and whether the network is blind:

    .venv/bin/python experiments/first_layer.py bisect --seeds 1 \\
        --out experiments/results/first-layer

`bisect` is the ladder from PFRL's A3C settings to the `atari` preset, one change per rung;
`fix` are the candidate fixes. Finished arms are read back from OUT/<arm>-s<seed>.json, so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import provenance  # this folder's module

from a3c.health import BLIND_SPREAD
from a3c.metrics import read_rows

# PFRL 0.4.0's A3C as its reproduction script runs it (../shared/reference/pfrl_a3c_first_layer.py):
# 8 processes of one learner, t_max 5, PyTorch's default init, RMSprop lr 7e-4 with eps 0.1 inside
# the root starting from 0, value loss 0.5 × ½(V - R)² summed (our value_coef 0.25 on the
# summed squared error), entropy 0.01 summed, clip 40. Its learning rate decays over 320M frames:
# constant over these runs, so every arm here holds its rate constant.
PFRL = {
    "workers": 8,
    "learners_per_process": 1,
    "t_max": 5,
    "init": "torch",
    "lr": 7e-4,
    "lr_schedule": "constant",
    "rms_eps": 0.1,
    "rms_init": 0.0,
    "value_coef": 0.25,
    "pixel_input": "scale",  # raw pixels ÷ 255, as PFRL (and the `atari` preset before the fix)
}

# One change per rung, from PFRL's settings to the `atari` preset (whose lr then is constant).
LADDER: list[tuple[str, dict[str, Any]]] = [
    ("pfrl", {}),
    ("lockstep4", {"learners_per_process": 4}),
    ("glorot", {"init": "glorot"}),
    ("tmax20", {"t_max": 20}),
    ("value05", {"value_coef": 0.5}),
    ("eps1e-5", {"rms_eps": 1e-5}),
    ("lr2.5e-4", {"lr": 2.5e-4}),
]

ARMS: dict[str, dict[str, dict[str, Any]]] = {"bisect": {}, "fix": {}}
_values: dict[str, Any] = dict(PFRL)
for _name, _change in LADDER:
    _values = {**_values, **_change}
    ARMS["bisect"][_name] = dict(_values)

# Candidate fixes, each one change to the `atari` preset (its lr held constant, as above).
_ATARI = {"lr_schedule": "constant", "pixel_input": "scale"}  # the preset as it was
ARMS["fix"] = {
    "atari": dict(_ATARI),
    "centre": {**_ATARI, "pixel_input": "centre"},
    "background": {**_ATARI, "pixel_input": "background"},
    "torch-init": {**_ATARI, "init": "torch"},
    "pfrl-learning": {**_ATARI, **{k: PFRL[k] for k in ("t_max", "init", "lr", "rms_eps")},
                      "value_coef": 0.25},
}  # fmt: skip


def run_arm(name: str, values: dict[str, Any], seed: int, args: argparse.Namespace) -> dict:
    """Train one arm and read its health rows; returns the arm's summary (also written to OUT)."""
    out = args.out / f"{name}-s{seed}.json"
    if out.exists():
        return json.loads(out.read_text())
    run = args.runs / f"{name}-s{seed}"
    run.parent.mkdir(parents=True, exist_ok=True)
    toml = run.parent / f"{run.name}.toml"
    settings = {**values, "health_interval_s": args.health_s, "checkpoint_interval_s": 3600.0}
    toml.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    command = [
        sys.executable, "-m", "a3c", "train", "--preset", args.preset, "--env", args.env,
        "--seed", str(seed), "--frames", str(args.frames), "--config", str(toml),
        "--run-dir", str(run),
    ]  # fmt: skip
    started = time.monotonic()
    with open(run.parent / f"{run.name}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    rows, _ = read_rows(run / "train.csv", ("frames",))
    health = [r for r in rows if r.get("dead_conv1")]
    readings = {}
    for frames in args.at:
        row = next((r for r in health if int(r["frames"]) >= frames), health[-1])
        readings[str(frames)] = {
            "frames": int(row["frames"]),
            "dead_conv1": round(float(row["dead_conv1"]) * 16),  # of the 16 filters
            "dead_conv2": round(float(row["dead_conv2"]) * 32),  # of the 32
            "blind": max(float(row["logit_spread"]), float(row["value_spread"])) < BLIND_SPREAD,
        }
    if args.dead_filters is not None:  # the reference harness's count, on its own screens
        final = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
        out_text = subprocess.run(
            [sys.executable, str(args.dead_filters), str(final)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        readings["reference_screens_final"] = json.loads(out_text.strip().splitlines()[-1])
    scores, _ = read_rows(run / "episodes.csv", ("frames", "score"))
    last = [float(r["score"]) for r in scores[-20:]]
    summary = {
        "arm": name,
        "seed": seed,
        "settings": values,
        "preset": args.preset,
        "env": args.env,
        "frames": args.frames,
        "seconds": round(time.monotonic() - started, 1),
        "readings": readings,
        "first_dead_all": next(
            (int(r["frames"]) for r in health if float(r["dead_conv1"]) == 1.0), None
        ),
        "last_20_games": round(sum(last) / len(last), 2) if last else None,
        "commit": provenance.commit(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "train.csv", args.out / f"{name}-s{seed}.train.csv")
    out.write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def table(sweep: str, args: argparse.Namespace) -> None:
    """Print the sweep's finished arms as a markdown table, seeds side by side."""
    print("| arm | change | dead of 16 at " + " / ".join(f"{f // 1000}k" for f in args.at) + " |")
    print("|---|---|---|")
    previous: dict[str, Any] = {}
    for name, values in ARMS[sweep].items():
        change = {k: v for k, v in values.items() if previous.get(k) != v}
        if sweep == "fix":
            change = {k: v for k, v in values.items() if k != "lr_schedule"}
        previous = values
        cells = []
        for seed in args.seeds:
            path = args.out / f"{name}-s{seed}.json"
            if path.exists():
                r = json.loads(path.read_text())["readings"]
                cells.append(
                    f"s{seed}: " + " / ".join(str(r[str(f)]["dead_conv1"]) for f in args.at)
                )
        text = ", ".join(f"{k} {v}" for k, v in change.items()) or "-"
        print(f"| {name} | {text} | {'; '.join(cells) or 'not run'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep", choices=sorted(ARMS))
    parser.add_argument("--arms", nargs="*", help="only these arms (default: all of the sweep)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--preset", default="atari")
    parser.add_argument("--env", default="ALE/Pong-v5")
    parser.add_argument("--frames", type=int, default=500_000)
    parser.add_argument("--at", type=int, nargs="+", default=[30_000, 100_000, 200_000, 500_000])
    parser.add_argument("--health-s", type=float, default=2.0)
    parser.add_argument(
        "--dead-filters",
        type=Path,
        help="also count the final checkpoint's dead filters with the reference harness's script "
        "(../shared/reference/dead_filters.py: 200 screens of Gymnasium's pipeline)",
    )
    parser.add_argument("--runs", type=Path, default=Path("/tmp/first-layer-runs"))
    parser.add_argument("--out", type=Path, default=Path("experiments/results/first-layer"))
    parser.add_argument("--table", action="store_true", help="print the finished arms, run none")
    args = parser.parse_args()
    if args.table:
        table(args.sweep, args)
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    arms = ARMS[args.sweep]
    for name in args.arms or list(arms):
        for seed in args.seeds:
            s = run_arm(name, arms[name], seed, args)
            cells = " / ".join(str(s["readings"][str(f)]["dead_conv1"]) for f in args.at)
            print(f"{name:>10} s{seed}: dead conv1 {cells} | last 20 games {s['last_20_games']}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
