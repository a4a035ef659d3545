"""The `a3c` command line: parses, validates, dispatches, and owns the terminal. One module per
command (`add_parser` and `run`); shared options in `options`, the terminal in `output`."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from a3c.cli import bench, diagnose, evaluate, play, plot, train
from a3c.cli.common import EXIT_INTERRUPTED
from a3c.cli.options import config_flags_markdown

COMMANDS = (train, bench, evaluate, play, plot, diagnose)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="a3c", description="Asynchronous advantage actor-critic (A3C) for Atari games."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> NoReturn:
    import logging

    logging.basicConfig(level=logging.WARNING, format="a3c: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    raise SystemExit(code)


__all__ = ["build_parser", "config_flags_markdown", "main"]
