"""Supervision of the learners: start their groups, restart one that crashes, and stop the run
when they crash, or skip updates for non-finite gradients, too often."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from a3c.backends import Backend, LearnerHandle
from a3c.config import Config, learner_groups
from a3c.records import ErrorRecord, TrainRecord
from a3c.run_files import RunFiles
from a3c.server import GlobalServer

log = logging.getLogger(__name__)


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class Supervisor:
    """The learner groups of a run on one backend (a process, thread or Ray actor each)."""

    def __init__(
        self, cfg: Config, backend: Backend, server: GlobalServer, files: RunFiles
    ) -> None:
        """`cfg`: the learners' config (its seed already moved on for a resumed segment)."""
        self.cfg = cfg
        self.backend = backend
        self.server = server
        self.files = files
        self.groups = learner_groups(cfg)
        self.handles: list[LearnerHandle] = []
        self.failures: dict[tuple[int, ...], str] = {}  # tracebacks by group
        self.crash_times: list[float] = []
        self.skips: list[tuple[float, int]] = []  # (time, updates skipped)

    def start(self) -> None:
        self.handles = [self.backend.start(self.cfg, self.server, ids) for ids in self.groups]

    def running(self) -> bool:
        """Some group is alive, or crashed and not yet restarted."""
        return any(h.is_alive() or h.exitcode not in (0, None) for h in self.handles)

    def crashed(self) -> list[int]:
        """Indices of the groups whose process ended with an error."""
        return [
            i
            for i, h in enumerate(self.handles)
            if not h.is_alive() and h.exitcode not in (0, None)
        ]

    def note_error(self, record: ErrorRecord) -> None:
        """A group's traceback: it says more than the exit status that follows."""
        self.failures[tuple(record.learners)] = record.error.strip()

    def recover(self, index: int, drain: Callable[[], None]) -> str | None:
        """Restart the crashed group `index`, or give up if groups crash too often.

        `drain` handles the records still queued (its traceback may arrive just after the exit
        was seen). Returns None, or the reason the run must stop.
        """
        drain()
        ids = self.groups[index]
        cause = self.failures.pop(tuple(ids), None) or self.backend.exit_cause(self.handles[index])
        now = time.monotonic()
        window = self.cfg.restart_window_s
        self.crash_times = [t for t in self.crash_times if now - t < window] + [now]
        event = {"time": _now_text(), "frames": self.server.frames(), "learners": ids}
        event["cause"] = cause
        if len(self.crash_times) > self.cfg.max_learner_restarts:
            self.files.log_event({**event, "action": "stop"})
            return (
                f"learners {ids} {cause.splitlines()[-1]}; {len(self.crash_times)} learner "
                f"crashes within {window:g} s (max_learner_restarts = "
                f"{self.cfg.max_learner_restarts}), so the run stops"
            )
        self.files.log_event({**event, "action": "restart"})
        log.warning("learners %s %s; restarted", ids, cause.splitlines()[-1])
        # A crashed process is replaced with fresh games.
        self.handles[index] = self.backend.start(self.cfg, self.server, ids)
        return None

    def skipped_updates(self, record: TrainRecord) -> str | None:
        """Log updates a learner skipped for a non-finite gradient. Returns None, or the reason
        the run must stop when they pile up."""
        now = time.monotonic()
        window = self.cfg.restart_window_s
        self.skips = [(t, n) for t, n in self.skips if now - t < window]
        self.skips.append((now, record.skipped))
        total = sum(n for _, n in self.skips)
        stop = total > self.cfg.max_skipped_updates
        self.files.log_event(
            {
                "time": _now_text(),
                "frames": self.server.frames(),
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
        if not stop:
            return None
        return (
            f"{total} updates skipped for non-finite gradients within {window:g} s "
            f"(max_skipped_updates = {self.cfg.max_skipped_updates}), so the run stops; "
            "the last checkpoint holds the network before they began"
        )

    def stop(self, drain: Callable[[float], None], timeout_s: float = 30.0) -> None:
        """Ask every group to stop and wait up to `timeout_s` for them, handling their records
        meanwhile (a learner process cannot exit while its records sit unread)."""
        self.backend.stop()
        deadline = time.monotonic() + timeout_s
        while any(h.is_alive() for h in self.handles) and time.monotonic() < deadline:
            drain(0.1)
