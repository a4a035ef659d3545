"""`a3c train`: start or resume a run, show its progress, stop it cleanly."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from a3c.cli.common import DEFAULTS, EXIT_INTERRUPTED, EXIT_TERMINATED, fail
from a3c.cli.options import (
    add_config_options,
    add_run_options,
    check_backend,
    config_from,
    overrides_from,
)
from a3c.cli.output import ProgressLine, format_duration
from a3c.resume import ResumeError, prepare_branch, prepare_resume


def add_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="train an agent",
        description="Train A3C; logs, TensorBoard events and checkpoints go to the run directory.",
    )
    add_run_options(train)
    train.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="training budget in emulator frames, agent steps × frame skip "
        f"(default: {DEFAULTS.frames:,})",
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
        "--branch",
        type=Path,
        metavar="CHECKPOINT",
        help="start a new run in --run-dir from CHECKPOINT (a file, or a run directory's "
        "newest), carrying on its weights, optimizer state and frame count, with any config "
        "change that keeps the game, the network and the optimizer: to test a change of "
        "settings part-way through a run against the run itself (default: start from scratch)",
    )
    train.add_argument(
        "--serial",
        action="store_true",
        help="run the learners as threads of one process, for debugging (slow)",
    )
    add_config_options(train)
    train.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from a3c.backends import BackendUnavailable
    from a3c.checkpoint import list_checkpoints
    from a3c.run_files import RunDirError, RunIOError, default_run_dir, prepare_run_dir
    from a3c.trainer import LearnerFailed, Trainer

    if args.frames is not None and args.frames < 1:
        fail(f"--frames {args.frames} must be at least 1")
    check_backend(args)
    if args.serial and args.backend != "local":
        fail("--serial runs learners as threads of this process: it needs --backend local")
    resume, changes, branched_from = None, None, None
    if args.branch is not None:
        if args.resume is not None:
            fail("--branch starts a new run and --resume continues one; give one")
        if args.run_dir is None:
            fail("--branch needs --run-dir: the new run's directory")
        run_dir = args.run_dir
        try:
            cfg, resume, changes, branched_from = prepare_branch(
                args.branch, run_dir, args.config, overrides_from(args)
            )
        except ResumeError as err:
            fail(str(err))
        print(
            f"a3c: branching {branched_from} at {resume['frames']:,} frames into {run_dir} "
            f"({describe_changes(changes)})",
            file=sys.stderr,
        )
    elif args.resume is not None:
        run_dir = args.resume
        if args.run_dir is not None and args.run_dir.resolve() != run_dir.resolve():
            fail(f"--run-dir {str(args.run_dir)!r} and --resume {str(run_dir)!r} differ; give one")
        try:
            cfg, resume, changes = prepare_resume(run_dir, args.config, overrides_from(args))
        except ResumeError as err:
            fail(str(err))
        print(
            f"a3c: resuming {run_dir} at {resume['frames']:,} frames, "
            f"{resume['episodes']} episodes ({describe_changes(changes)})",
            file=sys.stderr,
        )
    else:
        cfg = config_from(args)
        run_dir = args.run_dir or default_run_dir(cfg)
        try:
            prepare_run_dir(run_dir)
        except RunDirError as err:
            fail(str(err))
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
            branched_from=branched_from,
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
        fail(str(err))
    except BackendUnavailable as err:
        progress.done()
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # nothing was written: leave no trace of the run
        fail(str(err))
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
        f"{format_duration(summary.elapsed_s)}; mean score of the last 100 episodes {score}"
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


def describe_changes(changes: dict[str, Any]) -> str:
    """The settings a resume or branch changes, as `key=value, ...`, or 'no changes'."""
    return ", ".join(f"{k}={v!r}" for k, v in changes.items()) or "no changes"
