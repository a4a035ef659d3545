"""Resuming a run: which checkpoint it continues from, and the config it goes on with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from a3c.checkpoint import CheckpointError, list_checkpoints, load_network
from a3c.config import Config, ConfigError, read_toml, resume_config
from a3c.optim import OPTIMIZERS


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
    latest = found[-1]
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
        cfg, changes = resume_config(stored, given)
    except (CheckpointError, ConfigError) as err:
        raise ResumeError(str(err)) from None
    if cfg.frames <= ckpt["frames"]:
        raise ResumeError(
            f"{str(run_dir)!r} has trained {ckpt['frames']:,} of its {cfg.frames:,} frames; "
            "give a larger --frames to go on"
        )
    return cfg, ckpt, changes
