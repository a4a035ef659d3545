"""Learners as local processes (Hogwild on shared memory), or as threads for tests and debugging."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import traceback
from typing import Any

from a3c.backends import LearnerHandle
from a3c.config import Config
from a3c.records import ErrorRecord, Record
from a3c.server import ParameterServer

# Learner processes come from a fork server that has imported torch once: starting one is fast,
# and no learner inherits the parent's thread pools (forking after OpenMP has run can hang).
_CONTEXT = mp.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["torch", "numpy", "cv2", "ale_py", "a3c.learner"])


def process_gone(pid: int) -> bool:
    """True if process `pid` has exited (a zombie counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _learner_process(
    cfg: Config,
    server: ParameterServer,
    learner_ids: list[int],
    sink: Any,
    stop: Any,
    trainer_pid: int,
) -> None:
    """Entry point of a learner process: one intra-op thread, no SIGINT (the trainer owns it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from a3c.learner import run_learners

    # If the trainer is killed outright nobody sets `stop`: notice its death instead of
    # training on as an orphan (checked once per rollout).
    def should_stop() -> bool:
        return bool(stop.is_set()) or process_gone(trainer_pid)

    try:
        run_learners(cfg, server, learner_ids, sink, should_stop)
    except Exception:
        sink.put(ErrorRecord(learner_ids, traceback.format_exc()))
        raise SystemExit(1) from None


class LocalBackend:
    """Starts learners as processes (default) or as threads of this process (`serial=True`)."""

    def __init__(self, serial: bool = False) -> None:
        self.serial = serial
        self.queue: Any = queue.Queue() if serial else _CONTEXT.Queue()
        self.stop_event: Any = threading.Event() if serial else _CONTEXT.Event()
        self._processes: list[Any] = []

    def start(self, cfg: Config, server: ParameterServer, learner_ids: list[int]) -> LearnerHandle:
        """Start one process (or thread) running the actor-learners `learner_ids`."""
        server = server.for_learners(learner_ids)
        if self.serial:
            return _ThreadLearner(cfg, server, learner_ids, self.queue, self.stop_event)
        proc = _CONTEXT.Process(
            target=_learner_process,
            args=(cfg, server, learner_ids, self.queue, self.stop_event, os.getpid()),
            name=f"a3c-learners-{'-'.join(map(str, learner_ids))}",
            daemon=True,
        )
        proc.start()
        self._processes = [p for p in self._processes if p.is_alive()] + [proc]
        return proc

    def stop(self) -> None:
        self.stop_event.set()

    def get(self, timeout: float) -> Record | None:
        """The next record from any learner, or None after `timeout` seconds."""
        try:
            record: Record = self.queue.get(timeout=timeout)
            return record
        except queue.Empty:
            return None

    def exit_cause(self, handle: LearnerHandle) -> str:
        code = handle.exitcode or 0
        return f"killed by signal {-code}" if code < 0 else f"exited with status {code}"

    def close(self) -> None:
        """Release the queue; a learner process still running by now (stuck, or the trainer was
        told to stop at once) is killed, so that nothing outlives the command."""
        if not self.serial:
            for proc in self._processes:
                if proc.is_alive():
                    proc.kill()
                    proc.join(timeout=10)
            self.queue.close()
            self.queue.join_thread()


class _ThreadLearner:
    """A learner on a thread of the trainer's process: the same code, no processes."""

    def __init__(
        self,
        cfg: Config,
        server: ParameterServer,
        learner_ids: list[int],
        sink: Any,
        stop: threading.Event,
    ) -> None:
        from a3c.learner import run_learners

        self._exitcode: int | None = None

        def main() -> None:
            try:
                run_learners(cfg, server, learner_ids, sink, stop.is_set)
                self._exitcode = 0
            except Exception:
                sink.put(ErrorRecord(learner_ids, traceback.format_exc()))
                self._exitcode = 1

        self._thread = threading.Thread(target=main, name="a3c-learners", daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def exitcode(self) -> int | None:
        return self._exitcode
