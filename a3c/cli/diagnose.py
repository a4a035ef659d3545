"""`a3c diagnose`: does a saved network still see the screen?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from a3c.cli.common import fail


def add_parser(sub: Any) -> None:
    diagnose = sub.add_parser(
        "diagnose",
        help="does a saved network still see the screen?",
        description="For each checkpoint: the dead units of each layer (0 on every one of 200 "
        "screens of random play in its own game) and how much the policy and the value vary "
        "across those screens; names any dead layer. Exit status 0 for readable checkpoints, "
        "blind or not; 2 for a file that is not one.",
    )
    diagnose.add_argument(
        "checkpoints",
        nargs="+",
        type=Path,
        metavar="CHECKPOINT",
        help="checkpoint files, or run directories (their latest checkpoint)",
    )
    diagnose.add_argument("--json", action="store_true", help="one JSON object per checkpoint")
    diagnose.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from a3c.checkpoint import CheckpointError, load_network, resolve_checkpoint
    from a3c.health import collect_screens, measure_health

    screens: dict[str, Any] = {}  # the screens of each distinct config (a run's share them)
    for given in args.checkpoints:
        try:
            path = resolve_checkpoint(given)
            model, cfg, data = load_network(path)
        except CheckpointError as err:
            fail(str(err))
        key = json.dumps(cfg.to_dict(), sort_keys=True)
        if key not in screens:
            screens[key] = collect_screens(cfg)
        health = measure_health(model, screens[key])
        problems = health.problems()
        frames = int(data.get("frames", 0))
        if args.json:
            row = {
                "checkpoint": str(path),
                "frames": frames,
                "env_id": cfg.env_id,
                "layers": {x.name: {"dead": x.dead, "of": x.units} for x in health.layers},
                "logit_spread": round(health.logit_spread, 6),
                "value_spread": round(health.value_spread, 6),
                "value_mean": round(health.value_mean, 4),
                "entropy": round(health.entropy, 4),
                "first_filter_weight_sums": health.first_filter_weight_sums,
                "problems": list(problems.values()),
            }
            print(json.dumps(row), flush=True)
            continue
        print(f"{path} ({cfg.env_id}, {frames:,} frames): {health.summary()}", flush=True)
        for text in problems.values():
            print(f"  warning: {text}", flush=True)
    return 0
