"""Options shared by commands: the run options, a flag for every config key, the agent options,
and turning parsed arguments into a validated config."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, get_args

from a3c.cli.common import DEFAULTS, fail
from a3c.config import PRESET_SUMMARIES, PRESETS, Config, ConfigError, Policy, make_config


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `train` and `bench`; None means 'take it from the preset / config file'."""
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="named set of config values: "
        + ", ".join(f"'{name}' ({PRESET_SUMMARIES[name]})" for name in PRESETS)
        + " (default: seed)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="TOML file of config keys applied over the preset (default: none)",
    )
    parser.add_argument(
        "--env",
        dest="env_id",
        metavar="ID",
        help="game to train on: any Atari id ('ALE/Pong-v5', 'PongNoFrameskip-v4', "
        "'PongDeterministic-v4', 'Pong') or a Gymnasium id with vector observations; "
        "sticky actions, the action set and FIRE handling follow the game unless set "
        f"explicitly (default: {DEFAULTS.env_id})",
    )
    parser.add_argument(
        "--policy",
        choices=get_args(Policy),
        help="'ff': the seed's feed-forward network; 'lstm': 256 LSTM units after its trunk, "
        f"the A3C paper's recurrent agent (default: {DEFAULTS.policy})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"actor-learners, each with its own games and gradients; they run "
        f"--learners-per-process to a process (default: {DEFAULTS.workers}; paper: "
        f"{PRESETS['paper']['workers']})",
    )
    parser.add_argument(
        "--envs-per-worker",
        dest="envs_per_worker",
        type=int,
        metavar="E",
        help="environments per actor-learner; its rollout and gradient span all of them "
        f"(default: {DEFAULTS.envs_per_worker})",
    )
    parser.add_argument(
        "--learners-per-process",
        dest="learners_per_process",
        type=int,
        metavar="K",
        help="actor-learners run in lockstep by one process, acting with one batched "
        "forward pass; each still pushes its own gradients "
        f"(default: {DEFAULTS.learners_per_process})",
    )
    parser.add_argument(
        "--seed", type=int, metavar="S", help=f"base seed (default: {DEFAULTS.seed})"
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="where learners run: 'local' processes sharing memory, or 'ray' actors with a "
        "parameter-server actor (needs the [ray] extra) (default: local)",
    )
    parser.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        help="with --backend ray: the cluster to join ('auto' finds the one `ray start` began "
        "on this machine) (default: start a local Ray instance for the run)",
    )


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """A flag for every config field that has no hand-written one, generated from `Config`:
    `--t-max N` sets t_max, `--no-fire-on-life-loss` a boolean; help from the field's
    docstring, choices from its Literal type. None means 'from the preset or config file'."""
    from a3c.config import field_choices, field_docs

    taken = {action.dest for action in parser._actions}
    group = parser.add_argument_group(
        "config keys", "every config key as a flag; each overrides the preset and --config"
    )
    for field in dataclasses.fields(Config):
        if field.name in taken or field.name == "preset":
            continue
        default = getattr(DEFAULTS, field.name)
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{field_docs()[field.name]} (seed preset: {default})".replace("%", "%%")
        if isinstance(default, bool):
            group.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, help=help_text
            )
            continue
        choices = field_choices(field.name)
        group.add_argument(
            flag,
            dest=field.name,
            type=type(default),
            choices=choices,
            metavar=None if choices else type(default).__name__.upper(),
            help=help_text,
        )


def config_flags_markdown() -> str:
    """The table of generated config flags for docs/cli.md (a test keeps the page in step)."""
    from a3c.config import field_choices, field_docs

    parser = argparse.ArgumentParser()
    add_run_options(parser)
    taken = {action.dest for action in parser._actions}
    rows = ["| flag | `seed` preset | what it sets |", "|---|---|---|"]
    for field in dataclasses.fields(Config):
        if field.name in taken or field.name == "preset":
            continue
        default = getattr(DEFAULTS, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(default, bool):
            flag = f"{flag}, --no-{flag[2:]}"
        elif choices := field_choices(field.name):
            flag = f"{flag} {{{','.join(choices)}}}"
        else:
            flag = f"{flag} {type(default).__name__.upper()}"
        rows.append(f"| `{flag}` | `{default}` | {field_docs()[field.name].replace('|', '/')} |")
    return "\n".join(rows)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The config values given on the command line (None: not given)."""
    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Config)}


def config_from(args: argparse.Namespace) -> Config:
    overrides = {k: v for k, v in overrides_from(args).items() if k != "preset"}
    try:
        return make_config(args.preset or "seed", args.config, overrides)
    except ConfigError as err:
        fail(str(err))


def check_backend(args: argparse.Namespace) -> None:
    """Refuse a backend that cannot run here before anything is written."""
    if args.address is not None and args.backend != "ray":
        fail(f"--address {args.address!r} is for --backend ray")
    if args.backend == "ray":
        import importlib.util

        from a3c.backends import BackendUnavailable
        from a3c.backends.ray_cluster import INSTALL_HINT, check_address

        if importlib.util.find_spec("ray") is None:
            fail(INSTALL_HINT)
        if args.address is not None:
            try:
                check_address(args.address)
            except BackendUnavailable as err:
                fail(str(err))


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        type=Path,
        metavar="CHECKPOINT",
        help="a checkpoint written by `a3c train`, or a run directory (its latest checkpoint)",
    )
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument(
        "--greedy",
        dest="greedy",
        action="store_true",
        default=True,
        help="take the most probable action (default)",
    )
    policy.add_argument(
        "--sample", dest="greedy", action="store_false", help="sample actions from the policy"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="evaluation seed, 0-999999 (default: 0)"
    )
    parser.add_argument(
        "--sticky",
        type=float,
        metavar="P",
        help="probability that the emulator repeats the previous action instead of the "
        "agent's, as ALE v5 games do with 0.25 (default: the training game's, 0 for the seed "
        "preset: a greedy agent then plays the same game every time)",
    )


def load_agent_network(args: argparse.Namespace) -> tuple[Any, Config]:
    from a3c.checkpoint import CheckpointError, load_network, resolve_checkpoint

    if not 0 <= args.seed < 1_000_000:
        fail(f"--seed {args.seed} must be in 0-999999")
    if getattr(args, "episodes", 1) < 1:
        fail(f"--episodes {args.episodes} must be at least 1")
    if args.sticky is not None and not 0.0 <= args.sticky < 1.0:
        fail(f"--sticky {args.sticky} must be in [0, 1)")
    try:
        model, cfg, _ = load_network(resolve_checkpoint(args.checkpoint))
    except CheckpointError as err:
        fail(str(err))
    return model, cfg
