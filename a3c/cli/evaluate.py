"""`a3c evaluate`: score an agent with the standard protocol."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from a3c.cli.common import fail
from a3c.cli.options import (
    add_agent_options,
    load_agent_network,
)


def add_parser(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="score a trained agent with the standard protocol",
        description="Play whole games (all lives) with up to 30 random no-ops at the start, "
        "each capped at --max-frames, on seeds training never uses; report the raw scores.",
    )
    add_agent_options(evaluate)
    evaluate.add_argument("--episodes", type=int, default=30, help="games (default: 30)")
    evaluate.add_argument(
        "--max-frames",
        type=int,
        default=108_000,
        metavar="N",
        help="emulator frames after which a game is cut off (default: 108,000 = 30 minutes)",
    )
    evaluate.add_argument(
        "--pipeline",
        choices=("own", "gymnasium"),
        default="own",
        help="'own': the game the agent was trained in (this project's environment stack); "
        "'gymnasium': Gymnasium's own ALE/<Game>-v5 with AtariPreprocessing and "
        "FrameStackObservation(4), sticky actions 0.25 unless --sticky, no code of ours "
        "(default: own)",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from a3c.evaluate import evaluate

    if args.max_frames < 1:
        fail(f"--max-frames {args.max_frames} must be at least 1")
    model, cfg = load_agent_network(args)
    policy = "greedy" if args.greedy else "sampled"
    gym = args.pipeline == "gymnasium"
    default_sticky = 0.25 if gym else cfg.repeat_action_probability
    sticky = default_sticky if args.sticky is None else args.sticky
    game = cfg.env_id
    if gym:
        from a3c.checkpoint import CheckpointError
        from a3c.evaluate import gymnasium_env_id

        try:
            game = gymnasium_env_id(cfg) + " through Gymnasium's wrappers"
        except CheckpointError as err:
            fail(f"{err}; use --pipeline own")
    print(
        f"a3c: evaluating {args.checkpoint} on {game}: {args.episodes} games, "
        f"{policy} actions, up to 30 no-ops, sticky actions {sticky:g}, "
        f"cap {args.max_frames:,} frames",
        file=sys.stderr,
    )

    def progress(done: int, game: dict[str, Any]) -> None:
        cut = ", cut off at the frame cap" if game["truncated"] else ""
        print(
            f"  game {done}/{args.episodes}: score {game['score']:g} "
            f"({game['frames']:,} frames, {game['noops']} no-ops{cut})",
            file=sys.stderr,
        )

    if gym:
        from a3c.agent import Agent, atari_action_map
        from a3c.evaluate import EVAL_SEED_BASE, evaluate_gymnasium

        agent = Agent(model, cfg, atari_action_map(cfg), EVAL_SEED_BASE + args.seed)
        result = evaluate_gymnasium(
            agent, args.episodes, args.greedy, args.seed, args.max_frames, progress, sticky
        )
    else:
        result = evaluate(
            model, cfg, args.episodes, args.greedy, args.seed, args.max_frames, progress, sticky
        )
    result["checkpoint"] = str(args.checkpoint)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'games':>8} {'mean':>8} {'std':>8} {'median':>8} {'min':>8} {'max':>8}")
    print(
        f"{result['episodes']:>8} {result['mean']:>8.1f} {result['std']:>8.1f} "
        f"{result['median']:>8.1f} {result['min']:>8g} {result['max']:>8g}"
    )
    print(
        f"{result['frames']:,} frames; {result['truncated']} games cut off; {policy} actions; "
        f"sticky actions {sticky:g}; {args.pipeline} pipeline"
    )
    return 0
