"""Checkpoints: written atomically (temp file + rename), the last few kept, loaded safely, and
turned back into the network they hold."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import torch

from a3c.config import Config, ConfigError, config_from_dict
from a3c.model import ActorCritic, build_model, network_shape

FORMAT = "a3c-checkpoint"
VERSION = 1
_NAME = re.compile(r"^ckpt_(\d{12})\.pt$")


class CheckpointError(ValueError):
    """A file is not a checkpoint this version can use; the message says why."""


def checkpoint_name(frames: int) -> str:
    return f"ckpt_{frames:012d}.pt"


def checkpoint_frames(path: Path) -> int | None:
    """The frame count in a checkpoint's file name (ckpt_<frames>.pt), None for other names."""
    found = _NAME.match(path.name)
    return None if found is None else int(found.group(1))


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoints in `directory`, oldest first (by frame count in the name)."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if checkpoint_frames(p) is not None]
    return sorted(found, key=lambda p: p.name)


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint file as given, or a run directory's newest one (in it or its checkpoints/).
    Raises CheckpointError if a directory holds none."""
    if not path.is_dir():
        return path
    found = list_checkpoints(path / "checkpoints") or list_checkpoints(path)
    if not found:
        where = "looked in it and its checkpoints/"
        raise CheckpointError(f"{str(path)!r} holds no checkpoint ({where})")
    return found[-1]


def save_checkpoint(directory: Path, state: dict[str, Any], keep: int) -> Path:
    """Write `state` as directory/ckpt_<frames>.pt atomically; keep the newest `keep` files.

    A crash mid-write leaves only a stray temp file: the previous checkpoint stays valid.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / checkpoint_name(int(state["frames"]))
    tmp = directory / f".{path.name}.tmp-{os.getpid()}"
    payload = {"format": FORMAT, "version": VERSION, **state}
    # Serialise in memory first: torch.save reports a failed write (a full disk) as an opaque
    # RuntimeError, a plain write reports it as the OSError it is.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        with open(tmp, "wb") as fh:
            fh.write(buffer.getbuffer())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_directory(directory)  # make the rename itself durable before old files go
    except OSError as err:  # name the checkpoint, not a temp file or nothing
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    finally:
        if tmp.exists():
            tmp.unlink()
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def export_model(checkpoint: Path, out: Path) -> None:
    """Write a checkpoint without its optimizer state, as a model to ship: half the size, and
    everything `evaluate`, `play`, `diagnose` and `Agent.load` read (a run cannot resume from it).
    Raises CheckpointError if `checkpoint` is not one."""
    data = load_checkpoint(checkpoint)
    data.pop("optimizer", None)
    buffer = io.BytesIO()
    torch.save(data, buffer)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_bytes(buffer.getbuffer())
    os.replace(tmp, out)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load and check a checkpoint without executing code from the file (weights_only)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated or foreign files
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint ({type(err).__name__})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an a3c checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format version {data.get('version')!r}; "
            f"this a3c reads version {VERSION}"
        )
    for key in ("model", "frames", "episodes", "config"):  # "optimizer": runs only, not models
        if key not in data:
            raise CheckpointError(f"{str(path)!r} lacks {key!r}; the file is damaged")
    return data


def load_network(path: Path) -> tuple[ActorCritic, Config, dict[str, Any]]:
    """The network and config of a checkpoint written by `a3c train`, checked for consistency.

    Raises CheckpointError for a missing, damaged or foreign file, or one whose network does not
    fit its own game and action set.
    """
    data = load_checkpoint(path)
    try:
        cfg = config_from_dict(data["config"])
    except ConfigError as err:
        raise CheckpointError(f"{str(path)!r} holds an invalid config: {err}") from None
    obs_shape, n_actions = network_shape(cfg)
    stored = (int(data.get("n_actions", -1)), tuple(data.get("obs_shape", ())))
    if stored != (n_actions, obs_shape):
        raise CheckpointError(
            f"{str(path)!r} is for a network with {stored[0]} actions and input {stored[1]}, "
            f"but {cfg.env_id} with action set {cfg.action_set!r} has {n_actions} actions "
            f"and input {obs_shape}"
        )
    model = build_model(cfg)
    try:
        model.load_state_dict(data["model"])
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(
            f"{str(path)!r}: its weights do not fit the network ({first})"
        ) from None
    model.eval()
    return model, cfg, data
