"""Train several variants of a preset side by side for the same wall time, then compare them.

All arms start together and share the machine, so each gets the same CPU time; each is one
learner process (`--learners-per-process` = its learners) and all use the same seed. After
`--minutes` every arm is stopped with SIGINT (which writes its final checkpoint). The arms'
config, episodes.csv and train.csv are copied to OUT/<arm>/, with a summary in OUT/summary.json.

    .venv/bin/python experiments/paired_runs.py --out experiments/results/pairs-1 --minutes 60 \\
        --preset v5 --seed 1 --frames 150000000 \\
        --arm base --arm "t20:t_max=20" --arm "nolife:terminal_on_life_loss=false"

An arm is NAME or NAME:KEY=VALUE,KEY=VALUE with TOML values; KEY may be any config key.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import provenance  # this folder's module
import tomllib

from a3c.metrics import read_rows

A3C = str(Path(sys.executable).with_name("a3c"))


def parse_arm(text: str) -> tuple[str, dict[str, Any]]:
    """'t20:t_max=20,lr=1e-3' -> ('t20', {'t_max': 20, 'lr': 0.001})."""
    name, _, rest = text.partition(":")
    values: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        values.update(tomllib.loads(item.strip()))
    return name, values


def summarise(run: Path, minutes: float) -> dict[str, Any]:
    """Frames, games and training scores of one arm, with the mean of its last 10 minutes."""
    rows, _ = read_rows(run / "episodes.csv", ("frames", "score", "wall_s"))
    scores = [float(r["score"]) for r in rows]
    wall = [float(r["wall_s"]) for r in rows]
    # What the arm trained (its last training row), not the frame of its last finished game.
    trained, _ = read_rows(run / "train.csv", ("frames",))
    frames = max((int(float(r["frames"])) for r in trained), default=0)
    last10 = [s for s, w in zip(scores, wall, strict=True) if w >= (minutes - 10) * 60]
    by_ten = []
    for lo in range(0, int(minutes), 10):
        inside = [s for s, w in zip(scores, wall, strict=True) if lo * 60 <= w < (lo + 10) * 60]
        by_ten.append(round(statistics.mean(inside), 2) if inside else None)
    return {
        "frames": frames,
        "frames_per_second": round(frames / (minutes * 60)),
        "games": len(scores),
        "mean_last_100": round(statistics.mean(scores[-100:]), 2) if scores else None,
        "mean_last_10_min": round(statistics.mean(last10), 2) if last10 else None,
        "mean_by_10_min": by_ten,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--preset", default="v5")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--frames", type=int, default=150_000_000, help="schedule's budget")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--arm", action="append", required=True)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/pairs"))
    args = parser.parse_args()

    arms = [parse_arm(a) for a in args.arm]
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, values in arms:
        run = args.runs_dir / f"{stamp}-{name}"
        run.parent.mkdir(parents=True, exist_ok=True)
        toml = run.parent / f"{stamp}-{name}.toml"
        # The schedule's budget, unless the arm sets it: the run itself stops at the deadline.
        keys = {"frames": args.frames, **values}
        toml.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items()))
        workers = int(values.get("workers", args.workers))
        cmd = [
            A3C, "train", "--preset", args.preset, "--config", str(toml),
            "--seed", str(args.seed), "--workers", str(workers),
            "--learners-per-process", str(workers), "--run-dir", str(run),
        ]  # fmt: skip
        log = open(args.out / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), run)
        print(f"started {name}: {' '.join(cmd)}", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline and any(p.poll() is None for p, _ in procs.values()):
        time.sleep(5)
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, _ in procs.values():
        proc.wait()

    summary: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": provenance.commit(),
        "preset": args.preset,
        "seed": args.seed,
        "minutes": args.minutes,
    }
    for name, values in arms:
        run = procs[name][1]
        dest = args.out / name
        dest.mkdir(exist_ok=True)
        for file in ("config.json", "episodes.csv", "train.csv"):
            shutil.copy2(run / file, dest / file)
        summary[name] = {"overrides": values, **summarise(run, args.minutes)}
        print(name, json.dumps(summary[name]), flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
