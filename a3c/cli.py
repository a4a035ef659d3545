"""The `a3c` command line: parses, validates, dispatches, and owns the terminal."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from a3c.config import PRESET_SUMMARIES, PRESETS, Config, ConfigError, make_config

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
_DEFAULTS = Config()


def _fail(message: str) -> NoReturn:
    print(f"a3c: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
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
        f"explicitly (default: {_DEFAULTS.env_id})",
    )
    parser.add_argument(
        "--policy",
        choices=("ff", "lstm"),
        help="'ff': the seed's feed-forward network; 'lstm': 256 LSTM units after its trunk, "
        f"the A3C paper's recurrent agent (default: {_DEFAULTS.policy})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"actor-learners, each with its own games and gradients; they run "
        f"--learners-per-process to a process (default: {_DEFAULTS.workers}; paper: "
        f"{PRESETS['paper']['workers']})",
    )
    parser.add_argument(
        "--envs-per-worker",
        dest="envs_per_worker",
        type=int,
        metavar="E",
        help="environments per actor-learner; its rollout and gradient span all of them "
        f"(default: {_DEFAULTS.envs_per_worker})",
    )
    parser.add_argument(
        "--learners-per-process",
        dest="learners_per_process",
        type=int,
        metavar="K",
        help="actor-learners run in lockstep by one process, acting with one batched "
        "forward pass; each still pushes its own gradients "
        f"(default: {_DEFAULTS.learners_per_process})",
    )
    parser.add_argument(
        "--seed", type=int, metavar="S", help=f"base seed (default: {_DEFAULTS.seed})"
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


def _add_config_options(parser: argparse.ArgumentParser) -> None:
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
        default = getattr(_DEFAULTS, field.name)
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
    _add_run_options(parser)
    taken = {action.dest for action in parser._actions}
    rows = ["| flag | `seed` preset | what it sets |", "|---|---|---|"]
    for field in dataclasses.fields(Config):
        if field.name in taken or field.name == "preset":
            continue
        default = getattr(_DEFAULTS, field.name)
        flag = "--" + field.name.replace("_", "-")
        if isinstance(default, bool):
            flag = f"{flag}, --no-{flag[2:]}"
        elif choices := field_choices(field.name):
            flag = f"{flag} {{{','.join(choices)}}}"
        else:
            flag = f"{flag} {type(default).__name__.upper()}"
        rows.append(f"| `{flag}` | `{default}` | {field_docs()[field.name].replace('|', '/')} |")
    return "\n".join(rows)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config values given on the command line (None: not given)."""
    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Config)}


def _config(args: argparse.Namespace) -> Config:
    overrides = {k: v for k, v in _overrides(args).items() if k != "preset"}
    try:
        return make_config(args.preset or "seed", args.config, overrides)
    except ConfigError as err:
        _fail(str(err))


def _resume(args: argparse.Namespace) -> tuple[Config, dict[str, Any], dict[str, Any]]:
    """The checkpoint to continue, its config with the safe overrides, and those overrides."""

    from a3c.checkpoint import CheckpointError, list_checkpoints, load_network
    from a3c.config import read_toml, resume_config
    from a3c.optim import OPTIMIZERS

    run_dir: Path = args.resume
    if args.run_dir is not None and args.run_dir.resolve() != run_dir.resolve():
        _fail(f"--run-dir {str(args.run_dir)!r} and --resume {str(run_dir)!r} differ; give one")
    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        _fail(f"--resume {str(run_dir)!r} holds no checkpoint (nothing in its checkpoints/)")
    try:
        # The same checks as evaluate: a checkpoint whose network does not fit its game is refused.
        model, stored, ckpt = load_network(found[-1])
        if "optimizer" not in ckpt:
            raise CheckpointError(
                f"{str(found[-1])!r} holds no optimizer state (a model exported to ship): it "
                "can be evaluated, played and diagnosed, not resumed"
            )
        size = sum(p.numel() for p in model.parameters())
        problem = OPTIMIZERS[stored.optimizer].check_state(ckpt["optimizer"], size)
        if problem is not None:
            raise CheckpointError(
                f"{str(found[-1])!r}: {problem}, so it does not fit its network; "
                "the file is damaged"
            )
        overrides: dict[str, Any] = read_toml(args.config) if args.config else {}
        overrides.update(_overrides(args))
        cfg, changes = resume_config(stored, overrides)
    except (CheckpointError, ConfigError) as err:
        _fail(str(err))
    if cfg.frames <= ckpt["frames"]:
        _fail(
            f"{str(run_dir)!r} has trained {ckpt['frames']:,} of its {cfg.frames:,} frames; "
            "give a larger --frames to go on"
        )
    return cfg, ckpt, changes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a3c", description="Asynchronous advantage actor-critic (A3C) for Atari games."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train an agent",
        description="Train A3C; logs, TensorBoard events and checkpoints go to the run directory.",
    )
    _add_run_options(train)
    train.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="training budget in emulator frames, agent steps × frame skip "
        f"(default: {_DEFAULTS.frames:,})",
    )
    train.add_argument(
        "--run-dir",
        type=Path,
        metavar="DIR",
        help="where the run's files go (default: runs/<env>__<preset>__s<seed>__<time>)",
    )
    train.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its latest checkpoint; options given again "
        "may change only the budget and how work is spread (default: start a new run)",
    )
    train.add_argument(
        "--serial",
        action="store_true",
        help="run the learners as threads of one process, for debugging (slow)",
    )
    _add_config_options(train)
    train.set_defaults(handler=_train)

    bench = sub.add_parser(
        "bench",
        help="measure training throughput on this machine",
        description="Run training exactly as `a3c train` does for a fixed time, "
        "then the environments alone, and report frames per second.",
    )
    _add_run_options(bench)
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
    _add_config_options(bench)
    bench.set_defaults(handler=_bench)

    evaluate = sub.add_parser(
        "evaluate",
        help="score a trained agent with the standard protocol",
        description="Play whole games (all lives) with up to 30 random no-ops at the start, "
        "each capped at --max-frames, on seeds training never uses; report the raw scores.",
    )
    _add_agent_options(evaluate)
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
    evaluate.set_defaults(handler=_evaluate)

    play = sub.add_parser(
        "play",
        help="watch a trained agent, or record it",
        description="Show the game in a window at human speed where a display exists, or "
        "write the full-colour frames to a video file.",
    )
    _add_agent_options(play)
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
    play.set_defaults(handler=_play)

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
    plot.set_defaults(handler=_plot)

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
    diagnose.set_defaults(handler=_diagnose)
    return parser


def _add_agent_options(parser: argparse.ArgumentParser) -> None:
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


def _load_network(args: argparse.Namespace) -> tuple[Any, Config]:
    from a3c.checkpoint import CheckpointError, load_network, resolve_checkpoint

    if not 0 <= args.seed < 1_000_000:
        _fail(f"--seed {args.seed} must be in 0-999999")
    if getattr(args, "episodes", 1) < 1:
        _fail(f"--episodes {args.episodes} must be at least 1")
    if args.sticky is not None and not 0.0 <= args.sticky < 1.0:
        _fail(f"--sticky {args.sticky} must be in [0, 1)")
    try:
        model, cfg, _ = load_network(resolve_checkpoint(args.checkpoint))
    except CheckpointError as err:
        _fail(str(err))
    return model, cfg


def _evaluate(args: argparse.Namespace) -> int:
    from a3c.evaluate import evaluate

    if args.max_frames < 1:
        _fail(f"--max-frames {args.max_frames} must be at least 1")
    model, cfg = _load_network(args)
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
            _fail(f"{err}; use --pipeline own")
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


def _play(args: argparse.Namespace) -> int:
    import os

    from a3c.evaluate import VideoWriter, play
    from a3c.games import describe_game

    if args.fps <= 0:
        _fail(f"--fps {args.fps} must be > 0")
    if args.video is None and not os.environ.get("DISPLAY"):
        _fail(
            "no display to show the game on; record it instead with --video breakout.mp4 (or .gif)"
        )
    model, cfg = _load_network(args)
    if not describe_game(cfg.env_id).is_atari:
        _fail(f"play shows Atari games; {str(args.checkpoint)!r} plays {cfg.env_id!r}")
    if args.video is not None:
        folder = args.video.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            _fail(f"--video {str(args.video)!r}: {str(folder)!r} is not a writable directory")
        try:
            writer = VideoWriter(args.video, args.fps)
        except ValueError as err:
            _fail(str(err))
        try:
            try:
                games = play(
                    model, cfg, args.episodes, writer.add, args.greedy, args.seed, args.sticky
                )
            finally:
                writer.close()
        except OSError as err:
            _fail(f"--video {str(args.video)!r}: {err}")
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
        _fail(
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


def _plot(args: argparse.Namespace) -> int:
    from a3c.plot import RunDataError, milestones, plot_runs

    if args.labels and len(args.labels) != len(args.runs):
        _fail(f"--labels gives {len(args.labels)} labels for {len(args.runs)} runs")
    if args.window < 1:
        _fail(f"--window {args.window} must be at least 1")
    if args.output.suffix.lower() != ".png":
        _fail(f"-o {str(args.output)!r} must end in .png")
    thresholds: list[float] = []
    if args.milestones is not None:
        try:
            thresholds = [float(t) for t in args.milestones.split(",")]
        except ValueError:
            _fail(
                f"--milestones {args.milestones!r} must be scores separated by commas, e.g. 100,200"
            )
    try:
        curves = plot_runs(args.runs, args.output, args.labels, args.window, x=args.x)
    except RunDataError as err:
        _fail(str(err))
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
                else f"at {hit[0] / 1e6:.1f}M frames, {_format_duration(hit[1])} of training"
            )
            print(f"  {threshold:g}: {where}")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from a3c.checkpoint import CheckpointError, load_network, resolve_checkpoint
    from a3c.health import collect_screens, measure_health

    screens: dict[str, Any] = {}  # the screens of each distinct config (a run's share them)
    for given in args.checkpoints:
        try:
            path = resolve_checkpoint(given)
            model, cfg, data = load_network(path)
        except CheckpointError as err:
            _fail(str(err))
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


def _format_count(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else f"{n:.0f}"


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressLine:
    """One live status line on a terminal; a line every 30 s when output goes to a file."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0
        self.open_line = False  # a live line is showing, not yet ended
        self.warning: str | None = None  # the health warning last shown
        self.warned_at = 0.0

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        # A health warning gets its own line at once, and again at most every 10 minutes while
        # its figures change (a dying layer loses units one measurement at a time).
        new = p.health_warning
        if new != self.warning and (self.warning is None or now - self.warned_at >= 600):
            self.warning, self.warned_at = new, now
            if new is not None:
                self.done()
                print(f"a3c: {new}", file=sys.stderr, flush=True)
        if not self.tty and now - self.last_print < 30:
            return
        self.last_print = now
        eta = "-"
        if p.frames_per_second > 0:
            eta = _format_duration((p.total_frames - p.frames) / p.frames_per_second)
        score = "-" if p.recent_mean_score is None else f"{p.recent_mean_score:.1f}"
        line = (
            f"frames {_format_count(p.frames)}/{_format_count(p.total_frames)} "
            f"({100 * p.frames / p.total_frames:.1f}%) | {p.frames_per_second:,.0f} fps | "
            f"{p.episodes} episodes | score (last 100) {score} | "
            f"elapsed {_format_duration(p.elapsed_s)} | ETA {eta}"
        )
        if self.tty:
            print("\r" + line.ljust(120), end="", file=sys.stderr, flush=True)
            self.open_line = True
        else:
            print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        """End the live line (if one is showing) so that the next message starts a line."""
        if self.open_line:
            print(file=sys.stderr)
            self.open_line = False


def _train(args: argparse.Namespace) -> int:
    from a3c.backends import BackendUnavailable
    from a3c.checkpoint import list_checkpoints
    from a3c.run_files import RunDirError, RunIOError, default_run_dir, prepare_run_dir
    from a3c.trainer import LearnerFailed, Trainer

    if args.frames is not None and args.frames < 1:
        _fail(f"--frames {args.frames} must be at least 1")
    _check_backend(args)
    if args.serial and args.backend != "local":
        _fail("--serial runs learners as threads of this process: it needs --backend local")
    resume, changes = None, None
    if args.resume is not None:
        cfg, resume, changes = _resume(args)
        run_dir = args.resume
        changed = ", ".join(f"{k}={v!r}" for k, v in changes.items()) or "no changes"
        print(
            f"a3c: resuming {run_dir} at {resume['frames']:,} frames, "
            f"{resume['episodes']} episodes ({changed})",
            file=sys.stderr,
        )
    else:
        cfg = _config(args)
        run_dir = args.run_dir or default_run_dir(cfg)
        try:
            prepare_run_dir(run_dir)
        except RunDirError as err:
            _fail(str(err))
    print(
        f"a3c: training {cfg.env_id} with preset {cfg.preset!r}: {cfg.workers} learners × "
        f"{cfg.envs_per_worker} env, {cfg.frames:,} frames; run directory {run_dir}",
        file=sys.stderr,
    )
    progress = ProgressLine()
    # SIGTERM stops a run the way Ctrl-C does: learners stop, a final checkpoint is written. A
    # second signal stops at once, without waiting for the learners. A command started in the
    # background of a script inherits SIGINT ignored: `kill -INT` must still stop it.
    signals: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        signals.append(signum)
        if len(signals) == 1:
            progress.done()
            print(
                "a3c: stopping: the learners finish their rollouts, then a final checkpoint is "
                "written (interrupt again to stop at once)",
                file=sys.stderr,
                flush=True,
            )
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        trainer = Trainer(
            cfg,
            run_dir,
            serial=args.serial,
            on_progress=progress,
            resume=resume,
            resume_changes=changes,
            backend=args.backend,
            address=args.address,
        )
        summary = trainer.run()
    except KeyboardInterrupt:  # a second signal cut the orderly stop short
        progress.done()
        kept = list_checkpoints(run_dir / "checkpoints")
        last = f"the latest checkpoint is {kept[-1]}" if kept else "no checkpoint was written"
        print(
            "a3c: stopped at once by a second interrupt, without waiting for the learners; " + last,
            file=sys.stderr,
        )
        return EXIT_TERMINATED if signal.SIGTERM in signals else EXIT_INTERRUPTED
    except RunDirError as err:  # a resumed run's metrics files are not ours
        progress.done()
        _fail(str(err))
    except BackendUnavailable as err:
        progress.done()
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # nothing was written: leave no trace of the run
        _fail(str(err))
    except LearnerFailed as err:
        progress.done()
        print(f"a3c: error: {err}", file=sys.stderr)
        return 1
    except RunIOError as err:
        progress.done()
        print(f"a3c: error: {err}", file=sys.stderr)
        return 2
    progress.done()
    score = "-" if summary.recent_mean_score is None else f"{summary.recent_mean_score:.2f}"
    state = "interrupted" if summary.interrupted else "finished"
    print(
        f"a3c: {state} after {summary.frames:,} frames, {summary.episodes} episodes, "
        f"{_format_duration(summary.elapsed_s)}; mean score of the last 100 episodes {score}"
    )
    if summary.health_warning is not None:
        print(f"a3c: {summary.health_warning}")
    print(f"run directory: {summary.run_dir}")
    print(f"  checkpoint:  {summary.checkpoint}")
    print(f"  metrics:     {summary.run_dir / 'episodes.csv'}, {summary.run_dir / 'train.csv'}")
    print(f"  tensorboard: tensorboard --logdir {summary.run_dir / 'tb'}")
    if summary.interrupted:
        return EXIT_TERMINATED if signal.SIGTERM in signals else EXIT_INTERRUPTED
    return 0


def _check_backend(args: argparse.Namespace) -> None:
    """Refuse a backend that cannot run here before anything is written."""
    if args.address is not None and args.backend != "ray":
        _fail(f"--address {args.address!r} is for --backend ray")
    if args.backend == "ray":
        import importlib.util

        from a3c.backends import BackendUnavailable
        from a3c.backends.ray_cluster import INSTALL_HINT, check_address

        if importlib.util.find_spec("ray") is None:
            _fail(INSTALL_HINT)
        if args.address is not None:
            try:
                check_address(args.address)
            except BackendUnavailable as err:
                _fail(str(err))


def _bench(args: argparse.Namespace) -> int:
    from a3c.backends import BackendUnavailable
    from a3c.bench import run_bench

    if args.seconds <= 0 or args.warmup < 0:
        _fail(f"--seconds {args.seconds} must be > 0 and --warmup {args.warmup} >= 0")
    _check_backend(args)
    cfg = _config(args)
    if not args.json:
        print(
            f"a3c: measuring {cfg.workers} learners × {cfg.envs_per_worker} env for "
            f"{args.warmup:g} + {args.seconds:g} s, then the environments alone…",
            file=sys.stderr,
        )
    try:
        result = run_bench(cfg, args.seconds, args.warmup, args.backend, args.address)
    except BackendUnavailable as err:
        _fail(str(err))
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


def main(argv: list[str] | None = None) -> NoReturn:
    import logging

    logging.basicConfig(level=logging.WARNING, format="a3c: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    raise SystemExit(code)
