"""Resuming a run, or branching a new one from its checkpoint: which checkpoint it continues
from, and the config it goes on with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from a3c.checkpoint import (
    CheckpointError,
    checkpoint_frames,
    list_checkpoints,
    load_network,
    resolve_checkpoint,
)
from a3c.config import Config, ConfigError, read_toml, resume_config
from a3c.optim import OPTIMIZERS

# The run files a branch starts from: its metrics are cut at the checkpoint's frames when the
# branch opens them, as a resumed run's are, so its curves show where it came from.
BRANCH_FILES = ("config.json", "episodes.csv", "train.csv", "resumes.jsonl")


class ResumeError(ValueError):
    """A run cannot be resumed as asked; the message says why and what would do."""


def prepare_resume(
    run_dir: Path, config_file: Path | None, overrides: dict[str, Any]
) -> tuple[Config, dict[str, Any], dict[str, Any]]:
    """The latest checkpoint of `run_dir`, its stored config with the changes a resumed run may
    take (a TOML file's, then `overrides`; None values are not given), and those changes.

    The checkpoint gets the same checks as for evaluation (a network that does not fit its game
    is refused) and its optimizer state must fit its network. Raises ResumeError.
    """
    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        raise ResumeError(
            f"--resume {str(run_dir)!r} holds no checkpoint (nothing in its checkpoints/)"
        )
    return _continue_from(found[-1], config_file, overrides, branch=False)


def prepare_branch(
    source: Path, run_dir: Path, config_file: Path | None, overrides: dict[str, Any]
) -> tuple[Config, dict[str, Any], dict[str, Any], Path]:
    """Start the run `run_dir` as a branch of the checkpoint `source` (a file, or a run
    directory's newest): its weights, optimizer state, frame count and segment carry on, with
    any config changes that keep the game, the network and the optimizer.

    `run_dir` must be new or empty. The checkpoint is copied into its checkpoints/ and the
    source run's config and metrics files beside it; nothing is written if a check fails.
    Returns what `prepare_resume` does and the checkpoint's resolved path. Raises ResumeError.
    """
    try:
        ckpt_path = resolve_checkpoint(source)
    except CheckpointError as err:
        raise ResumeError(f"--branch: {err}") from None
    if checkpoint_frames(ckpt_path) is None or not ckpt_path.is_file():
        raise ResumeError(
            f"--branch {str(source)!r} is not a checkpoint (ckpt_<frames>.pt) or a run "
            "directory holding one"
        )
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise ResumeError(
            f"--run-dir {str(run_dir)!r} is not empty; a branch starts a new run directory"
        )
    cfg, ckpt, changes = _continue_from(ckpt_path, config_file, overrides, branch=True)
    # The source run's files: beside the checkpoint, or one level up from its checkpoints/.
    home = ckpt_path.parent
    if not (home / "config.json").is_file() and (home.parent / "config.json").is_file():
        home = home.parent
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        shutil.copy2(ckpt_path, run_dir / "checkpoints" / ckpt_path.name)
        for name in BRANCH_FILES:
            if (home / name).is_file():
                shutil.copy2(home / name, run_dir / name)
        if (home / "resumes.jsonl").is_file():
            shared = _resumes_before(home / "resumes.jsonl", int(ckpt["frames"]))
            (run_dir / "resumes.jsonl").write_text("".join(shared))
    except OSError as err:
        shutil.rmtree(run_dir, ignore_errors=True)  # it was new or empty: leave no half branch
        raise ResumeError(f"cannot start the branch in {str(run_dir)!r}: {err}") from None
    return cfg, ckpt, changes, ckpt_path.resolve()


def _resumes_before(path: Path, frames: int) -> list[str]:
    """The lines of a resumes.jsonl for resumes before `frames`: the history a branch at that
    checkpoint shares (a later resume of the source, even from that checkpoint, is not its)."""
    kept = []
    for line in path.read_text().splitlines(keepends=True):
        try:
            if int(json.loads(line)["frames"]) >= frames:
                continue
        except (ValueError, KeyError, TypeError):
            pass  # a line we cannot read is kept as it was, not judged
        kept.append(line)
    return kept


def _continue_from(
    latest: Path, config_file: Path | None, overrides: dict[str, Any], branch: bool
) -> tuple[Config, dict[str, Any], dict[str, Any]]:
    """Load and check the checkpoint `latest` and the config a run continuing from it takes."""
    try:
        model, stored, ckpt = load_network(latest)
        if "optimizer" not in ckpt:
            raise ResumeError(
                f"{str(latest)!r} holds no optimizer state (a model exported to ship): it "
                "can be evaluated, played and diagnosed, not resumed"
            )
        size = sum(p.numel() for p in model.parameters())
        problem = OPTIMIZERS[stored.optimizer].check_state(ckpt["optimizer"], size)
        if problem is not None:
            raise ResumeError(
                f"{str(latest)!r}: {problem}, so it does not fit its network; the file is damaged"
            )
        given: dict[str, Any] = read_toml(config_file) if config_file else {}
        given.update(overrides)
        cfg, changes = resume_config(stored, given, branch=branch)
    except (CheckpointError, ConfigError) as err:
        raise ResumeError(str(err)) from None
    if cfg.frames <= ckpt["frames"]:
        raise ResumeError(
            f"{str(latest)!r} has trained {ckpt['frames']:,} of its run's {cfg.frames:,} "
            "frames; give a larger --frames to go on"
        )
    return cfg, ckpt, changes
