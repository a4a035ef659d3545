"""A run's directory: its config, metrics, checkpoints and event log, and messages naming them."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from a3c.checkpoint import list_checkpoints, save_checkpoint
from a3c.config import Config
from a3c.metrics import MetricsLogger, RunDataError, read_episodes


class RunDirError(ValueError):
    """The run directory cannot be used (it holds a run already, or cannot be written)."""


class RunIOError(RuntimeError):
    """The run stopped because its files could not be written (a full disk, a lost directory)."""


def default_run_dir(cfg: Config, root: Path = Path("runs")) -> Path:
    """runs/{env}__{preset}__s{seed}__{YYYYmmdd-HHMMSS}."""
    env = cfg.env_id.replace("/", "-")
    return root / f"{env}__{cfg.preset}__s{cfg.seed}__{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(run_dir: Path) -> None:
    """Create the run directory; refuse one that already holds a run or cannot be written."""
    if (run_dir / "config.json").exists() or (run_dir / "checkpoints").exists():
        raise RunDirError(
            f"run directory {str(run_dir)!r} already holds a run; choose another --run-dir"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise RunDirError(f"cannot write run directory {str(run_dir)!r}: {err.strerror}") from None


class RunFiles:
    """Everything a run writes into its directory, for one segment (0, then 1 per --resume)."""

    def __init__(
        self,
        run_dir: Path,
        cfg: Config,
        segment: int,
        changes: dict[str, Any] | None = None,
        branched_from: Path | None = None,
    ) -> None:
        """`changes`: the settings a resumed segment overrides, recorded in resumes.jsonl with
        `branched_from`, the checkpoint of another run this one starts from (a branch)."""
        self.run_dir = run_dir
        self.cfg = cfg
        self.segment = segment
        self.changes = changes or {}
        self.branched_from = branched_from

    def open(self, resume_frames: int | None, frames_now: int) -> tuple[MetricsLogger, list[float]]:
        """Open the metrics files (a resumed run's cut at its checkpoint's frames), write
        config.json and, on a resume, a line of resumes.jsonl. Returns the logger and the
        scores of the last 100 games kept.

        Raises RunDirError for metrics files this run cannot resume from (nothing is written
        then), RunIOError if the files cannot be written (`frames_now` goes in its message).
        """
        try:
            # The logger first: it refuses metrics files a run cannot resume before writing.
            logger = MetricsLogger(self.run_dir, self.cfg.to_dict(), resume_frames=resume_frames)
            try:
                config = json.dumps(self.cfg.to_dict(), indent=2) + "\n"
                (self.run_dir / "config.json").write_text(config)
                recent = [] if resume_frames is None else read_episodes(self.run_dir)[1][-100:]
                if resume_frames is not None:  # when, from where and with what changes
                    entry: dict[str, Any] = {
                        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                        "frames": resume_frames,
                    }
                    if self.branched_from is not None:
                        entry["branched_from"] = str(self.branched_from)
                    with open(self.run_dir / "resumes.jsonl", "a") as log:
                        log.write(json.dumps({**entry, "changes": self.changes}) + "\n")
            except BaseException:
                with contextlib.suppress(OSError):
                    logger.close()
                raise
        except OSError as err:
            raise RunIOError(self.io_message(err, frames_now)) from None
        except RunDataError as err:
            raise RunDirError(f"cannot resume: {err}; move it out of the run directory") from None
        return logger, recent

    def save_checkpoint(self, snapshot: dict[str, Any], **fields: Any) -> Path:
        """The server's snapshot, with the run's config, segment and `fields`, kept among the
        newest `keep_checkpoints`."""
        return save_checkpoint(
            self.run_dir / "checkpoints",
            {**snapshot, **fields, "config": self.cfg.to_dict(), "segment": self.segment},
            keep=self.cfg.keep_checkpoints,
        )

    def log_event(self, event: dict[str, Any]) -> None:
        """Append one JSON line to RUN_DIR/events.log (learner crashes, restarts, skips)."""
        with open(self.run_dir / "events.log", "a") as fh:
            fh.write(json.dumps(event) + "\n")

    def last_good(self) -> str:
        kept = list_checkpoints(self.run_dir / "checkpoints")
        return f"the last good checkpoint is {kept[-1]}" if kept else "no checkpoint was written"

    def io_message(self, err: OSError, frames: int) -> str:
        """One line: what could not be written, and which checkpoint is still good."""
        what = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        return (
            f"cannot write the run's files ({what}); the run stopped at {frames:,} frames; "
            + self.last_good()
        )
