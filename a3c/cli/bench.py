"""`a3c bench`: training throughput on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from a3c.cli.common import fail
from a3c.cli.options import (
    add_config_options,
    add_run_options,
    check_backend,
    config_from,
)


def add_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure training throughput on this machine",
        description="Run training exactly as `a3c train` does for a fixed time, "
        "then the environments alone, and report frames per second.",
    )
    add_run_options(bench)
    bench.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="measured seconds of each phase, after warm-up (default: 30)",
    )
    bench.add_argument(
        "--warmup",
        type=float,
        default=10.0,
        help="seconds of training before measuring (default: 10)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_options(bench)
    bench.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from a3c.backends import BackendUnavailable
    from a3c.bench import run_bench

    if args.seconds <= 0 or args.warmup < 0:
        fail(f"--seconds {args.seconds} must be > 0 and --warmup {args.warmup} >= 0")
    check_backend(args)
    cfg = config_from(args)
    if not args.json:
        print(
            f"a3c: measuring {cfg.workers} learners × {cfg.envs_per_worker} env for "
            f"{args.warmup:g} + {args.seconds:g} s, then the environments alone…",
            file=sys.stderr,
        )
    try:
        result = run_bench(cfg, args.seconds, args.warmup, args.backend, args.address)
    except BackendUnavailable as err:
        fail(str(err))
    if args.json:
        print(json.dumps(result))
    else:
        split = ", ".join(f"{k} {100 * v:.0f}%" for k, v in result["time_split"].items())
        print(f"training:    {result['frames_per_second']:,.0f} frames/s ({split})")
        print(
            f"environment: {result['env_frames_per_second']:,.0f} frames/s alone "
            f"({100 * result['fraction_of_env_ceiling']:.0f}% reached in training)"
        )
        print(
            f"memory:      {result['peak_rss_mb']:.0f} MB peak RSS in total, "
            f"{result['peak_rss_mb_per_process']:.0f} MB per learner process"
        )
    return 0
