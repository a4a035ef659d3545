"""The trainer: owns the global network, starts learners, gathers their records, saves checkpoints.

It never touches the algorithm: learners do (`a3c.learner`). It turns learner records into
TensorBoard/CSV figures, progress reports and checkpoints, and owns shutdown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a3c.backends import Backend, LearnerHandle, open_backend
from a3c.checkpoint import list_checkpoints, save_checkpoint
from a3c.config import Config, learner_groups
from a3c.games import describe_game
from a3c.metrics import MetricsLogger, RunDataError, read_episodes
from a3c.records import TRAINING_STATISTICS, EpisodeRecord, Record, TrainRecord
from a3c.server import GlobalServer, ServerLost

log = logging.getLogger(__name__)


class RunDirError(ValueError):
    """The run directory cannot be used (it holds a run already, or cannot be written)."""


class LearnerFailed(RuntimeError):
    """A learner stopped with an error; the message carries its traceback."""


class RunIOError(RuntimeError):
    """The run stopped because its files could not be written (a full disk, a lost directory)."""


@dataclass
class Progress:
    """A snapshot for progress displays."""

    frames: int
    total_frames: int
    frames_per_second: float
    episodes: int
    recent_mean_score: float | None
    elapsed_s: float


@dataclass
class RunSummary:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    frames: int
    episodes: int
    elapsed_s: float
    checkpoint: Path | None
    recent_mean_score: float | None
    interrupted: bool
    # For benchmarks: (elapsed_s, frames) samples, and each learner's latest timing report.
    frame_samples: list[tuple[float, int]] = field(default_factory=list)
    first_frames_s: float | None = None  # seconds from start to the learners' first frames
    learner_reports: dict[int, list[TrainRecord]] = field(default_factory=dict)


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


class Trainer:
    """Runs one training job to its frame budget (or a time limit) and writes its files."""

    def __init__(
        self,
        cfg: Config,
        run_dir: Path,
        serial: bool = False,
        backend: str = "local",
        address: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        progress_interval_s: float = 1.0,
        resume: dict[str, Any] | None = None,
    ) -> None:
        """`resume`: a checkpoint of this run (from load_checkpoint) to continue from.

        `backend`: "local" (processes, or threads with `serial`) or "ray" (actors on the Ray
        cluster at `address`, or on a local one started for the run).
        """
        self.resume = resume
        self.segment = 0 if resume is None else int(resume.get("segment", 0)) + 1
        self.cfg = cfg
        self.run_dir = run_dir
        self.serial = serial
        self.backend = backend
        self.address = address
        self.on_progress = on_progress
        self.progress_interval_s = progress_interval_s

    def run(self, time_limit_s: float | None = None) -> RunSummary:
        """Train; on KeyboardInterrupt stop the learners and still write a final checkpoint.

        `time_limit_s` counts from the learners' first frames, so start-up is not part of it.
        """
        cfg = self.cfg
        if self.resume is None:
            prepare_run_dir(self.run_dir)
        obs_shape, n_actions = describe_game(cfg.env_id).network_shape(
            cfg.action_set, cfg.frame_history
        )
        server, backend = open_backend(
            self.backend, cfg, obs_shape, n_actions, self.serial, self.address
        )
        try:
            state, logger = self._set_up(server)
        except BaseException:  # nothing may be left running in a cluster
            backend.close()
            raise
        # Each resumed segment plays new games: its learners' seeds move up by 1e6.
        learner_cfg = dataclasses.replace(cfg, seed=cfg.seed + 1_000_000 * self.segment)
        handles: list[LearnerHandle] = []
        interrupted = False
        stop_error: OSError | ServerLost | None = None
        try:
            groups = learner_groups(cfg)
            handles = [backend.start(learner_cfg, server, ids) for ids in groups]

            def restart(i: int) -> None:  # a crashed process is replaced with fresh games
                handles[i] = backend.start(learner_cfg, server, groups[i])

            self._loop(server, backend, handles, groups, restart, logger, state, time_limit_s)
        except KeyboardInterrupt:
            interrupted = True
        except (OSError, ServerLost) as err:  # a full disk, a lost server: stop, keep what is good
            stop_error = err
        finally:
            checkpoint, final_error = self._shutdown(server, backend, handles, logger, state)
        error = stop_error or final_error
        if isinstance(error, ServerLost):
            raise LearnerFailed(f"{error}, so the run stops; {self._last_good()}")
        if error is not None:
            raise RunIOError(self._io_message(error, state.final_frames))
        if state.errors and not interrupted:
            raise LearnerFailed(state.errors[0])
        return RunSummary(
            run_dir=self.run_dir,
            frames=state.final_frames,
            episodes=state.episodes,
            elapsed_s=time.monotonic() - state.start,
            checkpoint=checkpoint,
            recent_mean_score=state.recent_mean(),
            interrupted=interrupted,
            frame_samples=state.frame_samples,
            first_frames_s=state.first_frames_s,
            learner_reports=state.reports,
        )

    def _set_up(self, server: GlobalServer) -> tuple[_RunState, MetricsLogger]:
        """Restore the resumed checkpoint into the server; open config and metrics files."""
        cfg = self.cfg
        state = _RunState(start=time.monotonic())
        resumed_at = None
        if self.resume is not None:
            ckpt = self.resume
            server.load_state(
                ckpt["model"],
                ckpt["optimizer"]["square_avg"],
                ckpt["frames"],
                ckpt["optimizer"]["updates"],
            )
            state.episodes = int(ckpt["episodes"])
            state.wall_before = float(ckpt.get("wall_s", 0.0))  # older checkpoints lack it
            resumed_at = state.start_frames = int(ckpt["frames"])
        try:
            # The logger first: it refuses metrics files a run cannot resume before writing.
            logger = MetricsLogger(self.run_dir, cfg.to_dict(), resume_frames=resumed_at)
            try:
                config = json.dumps(cfg.to_dict(), indent=2) + "\n"
                (self.run_dir / "config.json").write_text(config)
                if resumed_at is not None:  # the recent-score window goes on from the kept games
                    state.scores.extend(read_episodes(self.run_dir)[1][-100:])
                    if logger.kept_episodes is not None:
                        state.episodes = logger.kept_episodes
            except BaseException:
                with contextlib.suppress(OSError):
                    logger.close()
                raise
        except OSError as err:
            raise RunIOError(self._io_message(err, server.frames())) from None
        except RunDataError as err:
            raise RunDirError(f"cannot resume: {err}; move it out of the run directory") from None
        return state, logger

    def _loop(
        self,
        server: GlobalServer,
        backend: Backend,
        handles: list[LearnerHandle],
        groups: list[list[int]],
        restart: Callable[[int], None],
        logger: MetricsLogger,
        state: _RunState,
        time_limit_s: float | None,
    ) -> None:
        cfg = self.cfg
        now = state.start
        next_log = now + cfg.log_interval_s
        next_progress = now
        next_checkpoint = now + cfg.checkpoint_interval_s
        last_log = (now, server.frames())
        initial_frames = last_log[1]
        # A crashed process keeps the loop going until it has been restarted.
        while any(h.is_alive() or h.exitcode not in (0, None) for h in handles):
            record = backend.get(timeout=0.1)
            while record is not None:
                self._handle(record, server, logger, state)
                record = backend.get(timeout=0.0) if not self.serial else None
            if state.errors:
                return
            crashed = [
                i for i, h in enumerate(handles) if not h.is_alive() and h.exitcode not in (0, None)
            ]
            for i in crashed:
                if not self._recover(
                    i, handles[i], groups[i], restart, backend, server, logger, state
                ):
                    return
            now = time.monotonic()
            frames = server.frames()
            if state.first_frames_s is None and frames > initial_frames:
                state.first_frames_s = now - state.start
            if now >= next_log:
                fps = (frames - last_log[1]) / max(now - last_log[0], 1e-9)
                last_log = (now, frames)
                state.fps = fps
                logger.training(frames, state.train_record(fps, state.wall(now), server))
                logger.flush()
                next_log = now + cfg.log_interval_s
            if now >= next_progress:
                state.frame_samples.append((now - state.start, frames))
                if self.on_progress is not None:
                    self.on_progress(state.progress(frames, cfg.frames, now))
                next_progress = now + self.progress_interval_s
            if now >= next_checkpoint:
                self._checkpoint(server, state)
                next_checkpoint = now + cfg.checkpoint_interval_s
            started = state.first_frames_s
            if time_limit_s is not None and started is not None:  # start-up is not counted
                running = now - state.start - started
                if running >= time_limit_s:
                    return

    def _recover(
        self,
        index: int,
        handle: LearnerHandle,
        ids: list[int],
        restart: Callable[[int], None],
        backend: Backend,
        server: GlobalServer,
        logger: MetricsLogger,
        state: _RunState,
    ) -> bool:
        """Restart a crashed learner process, or give up if they crash too often.

        Returns False when the run must stop (the reason is in state.errors).
        """
        # Its traceback may arrive just after the exit was seen: it says more than the status.
        while (record := backend.get(timeout=0.3)) is not None:
            self._handle(record, server, logger, state)
        cause = state.failures.pop(tuple(ids), None) or backend.exit_cause(handle)
        now = time.monotonic()
        window = self.cfg.restart_window_s
        state.crash_times = [t for t in state.crash_times if now - t < window] + [now]
        event = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "frames": server.frames(),
            "learners": ids,
            "cause": cause,
        }
        if len(state.crash_times) > self.cfg.max_learner_restarts:
            event["action"] = "stop"
            self._log_event(event)
            state.errors.append(
                f"learners {ids} {cause.splitlines()[-1]}; {len(state.crash_times)} learner "
                f"crashes within {window:g} s (max_learner_restarts = "
                f"{self.cfg.max_learner_restarts}), so the run stops"
            )
            return False
        event["action"] = "restart"
        self._log_event(event)
        log.warning("learners %s %s; restarted", ids, cause.splitlines()[-1])
        restart(index)
        return True

    def _skipped_updates(self, record: TrainRecord, server: GlobalServer, state: _RunState) -> None:
        """Log updates a learner skipped for a non-finite gradient; stop if they pile up."""
        now = time.monotonic()
        window = self.cfg.restart_window_s
        state.skips = [(t, n) for t, n in state.skips if now - t < window]
        state.skips.append((now, record.skipped))
        total = sum(n for _, n in state.skips)
        stop = total > self.cfg.max_skipped_updates
        self._log_event(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "frames": server.frames(),
                "learner": record.learner,
                "skipped_updates": record.skipped,
                "action": "stop" if stop else "skip",
            }
        )
        log.warning(
            "learner %s skipped %d updates with a non-finite gradient",
            record.learner,
            record.skipped,
        )
        if stop and not state.errors:
            state.errors.append(
                f"{total} updates skipped for non-finite gradients within {window:g} s "
                f"(max_skipped_updates = {self.cfg.max_skipped_updates}), so the run stops; "
                "the last checkpoint holds the network before they began"
            )

    def _log_event(self, event: dict[str, Any]) -> None:
        """Append one JSON line to RUN_DIR/events.log (learner crashes and restarts)."""
        with open(self.run_dir / "events.log", "a") as fh:
            fh.write(json.dumps(event) + "\n")

    def _shutdown(
        self,
        server: GlobalServer,
        backend: Backend,
        handles: list[LearnerHandle],
        logger: MetricsLogger,
        state: _RunState,
    ) -> tuple[Path | None, OSError | ServerLost | None]:
        """Stop the learners, keep their last records and write the final checkpoint regardless.

        Returns the checkpoint written (None if it could not be) and the first write error.
        """
        backend.stop()
        error: OSError | ServerLost | None = None
        try:
            # Read while waiting: a learner process cannot exit while its records sit unread.
            deadline = time.monotonic() + 30
            while any(h.is_alive() for h in handles) and time.monotonic() < deadline:
                if (record := backend.get(timeout=0.1)) is not None:
                    self._handle(record, server, logger, state)
            while (record := backend.get(timeout=0.05)) is not None:
                self._handle(record, server, logger, state)
            if state.pending_train:  # the last losses, even for a run shorter than log_interval_s
                now = time.monotonic()
                fps = (server.frames() - state.start_frames) / max(now - state.start, 1e-9)
                logger.training(server.frames(), state.train_record(fps, state.wall(now), server))
        except (OSError, ServerLost) as err:
            error = err
        finally:
            checkpoint = None
            try:
                try:
                    checkpoint = self._checkpoint(server, state)
                except (OSError, ServerLost) as err:  # the previous checkpoint stays as it was
                    error = error or err
                try:
                    logger.close()
                except OSError as err:
                    error = error or err
                with contextlib.suppress(ServerLost):  # for the summary: the backend goes next
                    state.final_frames = server.frames()
            finally:  # even when a second Ctrl-C cuts the above short
                backend.close()
        return checkpoint, error

    def _io_message(self, err: OSError, frames: int) -> str:
        """One line: what could not be written, and which checkpoint is still good."""
        what = f"{err.strerror or err}" + (f": {err.filename}" if err.filename else "")
        return (
            f"cannot write the run's files ({what}); the run stopped at {frames:,} frames; "
            + self._last_good()
        )

    def _last_good(self) -> str:
        kept = list_checkpoints(self.run_dir / "checkpoints")
        return f"the last good checkpoint is {kept[-1]}" if kept else "no checkpoint was written"

    def _handle(
        self,
        record: Record,
        server: GlobalServer,
        logger: MetricsLogger,
        state: _RunState,
    ) -> None:
        if isinstance(record, EpisodeRecord):
            state.episodes += 1
            state.scores.append(record.score)
            wall_s = round(state.wall(time.monotonic()), 3)
            row = {**dataclasses.asdict(record), "episode": state.episodes, "wall_s": wall_s}
            logger.episode(record.frames, row)
        elif isinstance(record, TrainRecord):
            record = dataclasses.replace(record, wall_s=state.wall(time.monotonic()))
            state.reports.setdefault(record.learner, []).append(record)
            state.pending_train.append(record)
            if record.skipped:
                self._skipped_updates(record, server, state)
        else:  # an ErrorRecord: the process exits next; _recover decides what follows
            state.failures[tuple(record.learners)] = record.error.strip()

    def _checkpoint(self, server: GlobalServer, state: _RunState) -> Path:
        snapshot = server.state()
        return save_checkpoint(
            self.run_dir / "checkpoints",
            {
                **snapshot,
                "episodes": state.episodes,
                "config": self.cfg.to_dict(),
                "obs_shape": list(server.obs_shape),
                "n_actions": server.n_actions,
                "segment": self.segment,
                "wall_s": state.wall(time.monotonic()),
            },
            keep=self.cfg.keep_checkpoints,
        )


@dataclass
class _RunState:
    """The trainer's running tallies."""

    start: float
    wall_before: float = 0.0  # training seconds of the run's earlier segments (resumed runs)
    start_frames: int = 0  # the global frame count when this segment started
    episodes: int = 0
    final_frames: int = 0
    first_frames_s: float | None = None  # when the learners' first frames arrived
    fps: float = 0.0
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    errors: list[str] = field(default_factory=list)
    pending_train: list[TrainRecord] = field(default_factory=list)
    reports: dict[int, list[TrainRecord]] = field(default_factory=dict)
    frame_samples: list[tuple[float, int]] = field(default_factory=list)
    failures: dict[tuple[int, ...], str] = field(default_factory=dict)  # tracebacks by group
    crash_times: list[float] = field(default_factory=list)
    skips: list[tuple[float, int]] = field(default_factory=list)  # (time, updates skipped)

    def wall(self, now: float) -> float:
        """Training seconds since the run first started, across resumed segments."""
        return self.wall_before + now - self.start

    def recent_mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    def progress(self, frames: int, total: int, now: float) -> Progress:
        return Progress(
            frames, total, self.fps, self.episodes, self.recent_mean(), now - self.start
        )

    def train_record(self, fps: float, wall_s: float, server: GlobalServer) -> dict[str, Any]:
        """Average the learners' loss reports since the last record, weighted by updates."""
        record: dict[str, Any] = {
            "frames_per_second": round(fps, 1),
            "wall_s": round(wall_s, 3),
            "updates": server.updates(),
        }
        reports = [r for r in self.pending_train if r.updates > 0]
        total = sum(r.updates for r in reports)
        if total:
            for key in TRAINING_STATISTICS:
                record[key] = sum(r.statistics[key] * r.updates for r in reports) / total
        self.pending_train.clear()
        return record
