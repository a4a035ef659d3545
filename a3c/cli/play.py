"""`a3c play`: watch an agent in a window, or record it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from a3c.cli.common import fail
from a3c.cli.options import (
    add_agent_options,
    load_agent_network,
)
from a3c.config import Config


def add_parser(sub: Any) -> None:
    play = sub.add_parser(
        "play",
        help="watch a trained agent, or record it",
        description="Show the game in a window at human speed where a display exists, or "
        "write the full-colour frames to a video file.",
    )
    add_agent_options(play)
    play.add_argument("--episodes", type=int, default=1, help="games (default: 1)")
    play.add_argument(
        "--video",
        type=Path,
        metavar="PATH.mp4|PATH.gif",
        help="write the games to this file instead of showing them",
    )
    play.add_argument(
        "--fps",
        type=float,
        default=60.0,
        help="frames per second of the video or window (default: 60, the "
        "emulator's own speed; every emulator frame is kept)",
    )
    play.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from a3c.evaluate import VideoWriter, play
    from a3c.games import describe_game

    if args.fps <= 0:
        fail(f"--fps {args.fps} must be > 0")
    if args.video is None and not os.environ.get("DISPLAY"):
        fail(
            "no display to show the game on; record it instead with --video breakout.mp4 (or .gif)"
        )
    model, cfg = load_agent_network(args)
    if not describe_game(cfg.env_id).is_atari:
        fail(f"play shows Atari games; {str(args.checkpoint)!r} plays {cfg.env_id!r}")
    if args.video is not None:
        folder = args.video.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            fail(f"--video {str(args.video)!r}: {str(folder)!r} is not a writable directory")
        try:
            writer = VideoWriter(args.video, args.fps)
        except ValueError as err:
            fail(str(err))
        try:
            try:
                games = play(
                    model, cfg, args.episodes, writer.add, args.greedy, args.seed, args.sticky
                )
            finally:
                writer.close()
        except OSError as err:
            fail(f"--video {str(args.video)!r}: {err}")
        print(f"wrote {writer.count:,} frames to {args.video}", file=sys.stderr)
    else:
        games = _play_in_window(model, cfg, args)
    for i, game in enumerate(games, 1):
        print(f"game {i}: score {game['score']:g} ({game['frames']:,} frames)")
    return 0


def _play_in_window(model: Any, cfg: Config, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Show the game with matplotlib's interactive window, paced to --fps."""
    import matplotlib.pyplot as plt

    from a3c.evaluate import play

    if not plt.get_backend().lower().startswith(("tk", "qt", "gtk", "wx", "macosx")):
        fail(
            "no interactive window is available here; record the game instead with "
            "--video breakout.mp4 (or .gif)"
        )
    _, ax = plt.subplots()
    ax.axis("off")
    image = None
    next_frame = time.monotonic()

    def show(rgb: Any) -> None:
        nonlocal image, next_frame
        if image is None:
            image = ax.imshow(rgb)
        else:
            image.set_data(rgb)
        next_frame += 1.0 / args.fps
        plt.pause(max(next_frame - time.monotonic(), 1e-3))

    return play(model, cfg, args.episodes, show, args.greedy, args.seed, args.sticky)
