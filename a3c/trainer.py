"""The trainer: the training loop of a run, between its learners, its server and its files.

It never touches the algorithm: learners do (`a3c.learner`). `Supervisor` starts and restarts the
learners, `RunFiles` writes the run's directory; the loop here turns learner records into
metrics, progress and checkpoints, and owns the orderly stop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from a3c.backends import open_backend
from a3c.config import Config
from a3c.health import Health, HealthWatch, collect_screens, measure_health
from a3c.metrics import MetricsLogger, read_rows
from a3c.model import build_model
from a3c.records import TRAINING_STATISTICS, EpisodeRecord, Record, TrainRecord
from a3c.run_files import RunFiles, RunIOError, prepare_run_dir
from a3c.server import GlobalServer, ServerLost
from a3c.supervisor import Supervisor

log = logging.getLogger(__name__)


class LearnerFailed(RuntimeError):
    """A learner stopped with an error; the message carries its traceback."""


@dataclass
class Progress:
    """A snapshot for progress displays."""

    frames: int
    total_frames: int
    frames_per_second: float
    episodes: int
    recent_mean_score: float | None
    elapsed_s: float
    health_warning: str | None = None  # what is wrong with the network, if anything


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
    health: Health | None = None  # the last measurement of the network's health
    health_warning: str | None = None


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
        resume_changes: dict[str, Any] | None = None,
        branched_from: Path | None = None,
    ) -> None:
        """`resume`: a checkpoint of this run (from load_checkpoint) to continue from, with the
        settings `resume_changes` overrides (recorded in the run's resumes.jsonl); for a branch,
        `branched_from` is where that checkpoint came from (recorded there too).

        `backend`: "local" (processes, or threads with `serial`) or "ray" (actors on the Ray
        cluster at `address`, or on a local one started for the run).
        """
        self.resume = resume
        self.segment = 0 if resume is None else int(resume.get("segment", 0)) + 1
        self.cfg = cfg
        self.files = RunFiles(run_dir, cfg, self.segment, resume_changes, branched_from)
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
        server, backend = open_backend(self.backend, cfg, self.serial, self.address)
        try:
            state, logger = self._set_up(server)
        except BaseException:  # nothing may be left running in a cluster
            backend.close()
            raise
        # Each resumed segment plays new games: its learners' seeds move up by 1e6.
        learner_cfg = dataclasses.replace(cfg, seed=cfg.seed + 1_000_000 * self.segment)
        learners = Supervisor(learner_cfg, backend, server, self.files)
        interrupted = False
        stop_error: OSError | ServerLost | None = None
        try:
            learners.start()
            self._loop(server, learners, logger, state, time_limit_s)
        except KeyboardInterrupt:
            interrupted = True
        except (OSError, ServerLost) as err:  # a full disk, a lost server: stop, keep what is good
            stop_error = err
        finally:
            checkpoint, final_error = self._shutdown(server, learners, logger, state)
        error = stop_error or final_error
        if isinstance(error, ServerLost):
            raise LearnerFailed(f"{error}, so the run stops; {self.files.last_good()}")
        if error is not None:
            raise RunIOError(self.files.io_message(error, state.final_frames))
        if state.errors and not interrupted:
            raise LearnerFailed(state.errors[0])
        return RunSummary(
            run_dir=self.run_dir,
            frames=state.final_frames,
            episodes=state.episodes,
            elapsed_s=time.monotonic() - state.start,
            checkpoint=checkpoint,
            recent_mean_score=state.recent_mean(),
            health=state.health,
            health_warning=state.health_warning,
            interrupted=interrupted,
            frame_samples=state.frame_samples,
            first_frames_s=state.first_frames_s,
            learner_reports=state.reports,
        )

    def _set_up(self, server: GlobalServer) -> tuple[_RunState, MetricsLogger]:
        """Restore the resumed checkpoint into the server; open config and metrics files."""
        state = _RunState(start=time.monotonic())
        resumed_at = None
        if self.resume is not None:
            ckpt = self.resume
            server.load_state(
                ckpt["model"],
                ckpt["optimizer"],
                ckpt["frames"],
                ckpt["optimizer"]["updates"],
            )
            state.episodes = int(ckpt["episodes"])
            state.wall_before = float(ckpt.get("wall_s", 0.0))  # older checkpoints lack it
            resumed_at = state.start_frames = int(ckpt["frames"])
        self._screens: torch.Tensor | None = None  # collected while the learners start
        # The first measurement is of the weights the run starts from, read before any learner
        # can update them (collecting the screens takes longer than the first updates).
        self._start_snapshot: dict[str, Any] | None = server.state()
        self._health_model = build_model(self.cfg)
        self._health_watch = HealthWatch()
        self._health_off = False
        logger, recent = self.files.open(resumed_at, server.frames())
        if resumed_at is not None:  # a problem found before the resume keeps its "since"
            rows, _ = read_rows(self.run_dir / "train.csv", ("frames",))
            self._health_watch.resume(rows)
        state.scores.extend(recent)  # the recent-score window goes on from the kept games
        if resumed_at is not None and logger.kept_episodes is not None:
            state.episodes = logger.kept_episodes
        return state, logger

    def _loop(
        self,
        server: GlobalServer,
        learners: Supervisor,
        logger: MetricsLogger,
        state: _RunState,
        time_limit_s: float | None,
    ) -> None:
        cfg = self.cfg
        now = state.start
        next_log = now + cfg.log_interval_s
        next_progress = now
        next_checkpoint = now + cfg.checkpoint_interval_s
        next_health = now  # the first measurement is of the network the run starts from
        last_log = (now, server.frames())
        initial_frames = last_log[1]

        def drain() -> None:
            while (record := learners.backend.get(timeout=0.3)) is not None:
                self._handle(record, learners, logger, state)

        # A crashed process keeps the loop going until it has been restarted.
        while learners.running():
            record = learners.backend.get(timeout=0.1)
            while record is not None:
                self._handle(record, learners, logger, state)
                record = learners.backend.get(timeout=0.0) if not self.serial else None
            if state.errors:
                return
            for i in learners.crashed():
                if (error := learners.recover(i, drain)) is not None:
                    state.errors.append(error)
                    return
            now = time.monotonic()
            frames = server.frames()
            if state.first_frames_s is None and frames > initial_frames:
                state.first_frames_s = now - state.start
            # Health first: the first measurement is of the starting weights, labelled with the
            # starting frames, so it must precede any training row (rows go up in frames).
            if now >= next_health:
                self._measure_health(server, logger, state)
                next_health = now + cfg.health_interval_s
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

    def _measure_health(
        self, server: GlobalServer, logger: MetricsLogger, state: _RunState
    ) -> None:
        """Measure the global network on the run's screens; record it and any warning. A failure
        to measure (the screens cannot be played, say) turns the measurement off, not the run."""
        if self._health_off:
            return
        try:
            if self._screens is None:  # the same screens for every run of the game
                self._screens = collect_screens(self.cfg)
            snapshot = self._start_snapshot or server.state()  # weights, frames they were read at
            self._start_snapshot = None
            self._health_model.load_state_dict(snapshot["model"])
            health = measure_health(self._health_model, self._screens)
        except ServerLost:
            raise
        except Exception as err:  # a monitor must not end the training it watches
            self._health_off = True
            log.warning("the network's health is not measured in this run: %s", err)
            return
        frames = int(snapshot["frames"])
        state.health = health
        state.health_warning = self._health_watch.update(frames, health)
        row = {
            **health.fields(),
            "updates": int(snapshot["optimizer"]["updates"]),
            "wall_s": round(state.wall(time.monotonic()), 3),
        }
        logger.health(frames, row)

    def _handle(
        self, record: Record, learners: Supervisor, logger: MetricsLogger, state: _RunState
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
                error = learners.skipped_updates(record)
                if error is not None and not state.errors:
                    state.errors.append(error)
        else:  # an ErrorRecord: the process exits next; the loop's recover decides what follows
            learners.note_error(record)

    def _shutdown(
        self,
        server: GlobalServer,
        learners: Supervisor,
        logger: MetricsLogger,
        state: _RunState,
    ) -> tuple[Path | None, OSError | ServerLost | None]:
        """Stop the learners, keep their last records and write the final checkpoint regardless.

        Returns the checkpoint written (None if it could not be) and the first write error.
        """
        backend = learners.backend
        error: OSError | ServerLost | None = None

        def drain(timeout: float) -> None:
            if (record := backend.get(timeout=timeout)) is not None:
                self._handle(record, learners, logger, state)

        try:
            learners.stop(drain)
            while (record := backend.get(timeout=0.05)) is not None:
                self._handle(record, learners, logger, state)
            if state.pending_train:  # the last losses, even for a run shorter than log_interval_s
                now = time.monotonic()
                fps = (server.frames() - state.start_frames) / max(now - state.start, 1e-9)
                logger.training(server.frames(), state.train_record(fps, state.wall(now), server))
            if self._screens is not None:  # the health of the network the checkpoint keeps
                self._measure_health(server, logger, state)
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

    def _checkpoint(self, server: GlobalServer, state: _RunState) -> Path:
        return self.files.save_checkpoint(
            server.state(),
            episodes=state.episodes,
            obs_shape=list(server.obs_shape),
            n_actions=server.n_actions,
            wall_s=state.wall(time.monotonic()),
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
    health: Health | None = None
    health_warning: str | None = None

    def wall(self, now: float) -> float:
        """Training seconds since the run first started, across resumed segments."""
        return self.wall_before + now - self.start

    def recent_mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    def progress(self, frames: int, total: int, now: float) -> Progress:
        return Progress(
            frames,
            total,
            self.fps,
            self.episodes,
            self.recent_mean(),
            now - self.start,
            self.health_warning,
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
