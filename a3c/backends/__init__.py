"""Where learners run, behind one interface the trainer drives.

`local`: processes on this machine sharing memory (or threads of the trainer, `serial`).
`ray`: actors on a Ray cluster, with the global network in a parameter-server actor.
Both run the same `run_learners`; only how it reaches the global network differs.
"""

from __future__ import annotations

from typing import Protocol

from a3c.config import Config
from a3c.records import Record
from a3c.server import GlobalServer

BACKENDS = ("local", "ray")


class LearnerHandle(Protocol):
    """A running group of learners as the trainer sees it."""

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...

    @property
    def exitcode(self) -> int | None: ...


class Backend(Protocol):
    """Starts learner groups and carries their records back to the trainer."""

    def start(self, cfg: Config, server: GlobalServer, learner_ids: list[int]) -> LearnerHandle:
        """Start (or restart) the group running the actor-learners `learner_ids`."""
        ...

    def stop(self) -> None:
        """Ask every learner to stop after its current rollout."""
        ...

    def get(self, timeout: float) -> Record | None:
        """The next record from any learner, or None after `timeout` seconds."""
        ...

    def exit_cause(self, handle: LearnerHandle) -> str:
        """Why a group that stopped with an error stopped (a signal, a status, a lost node)."""
        ...

    def close(self) -> None:
        """Release what the backend holds (queues; for Ray, every actor it made)."""
        ...


class BackendUnavailable(RuntimeError):
    """The backend cannot be used here; the message says what to do."""


def open_backend(
    name: str,
    cfg: Config,
    serial: bool = False,
    address: str | None = None,
) -> tuple[GlobalServer, Backend]:
    """The global network and the backend that runs learners against it."""
    if name == "local":
        from a3c.backends.local import LocalBackend
        from a3c.server import SharedParameterServer

        return SharedParameterServer(cfg), LocalBackend(serial=serial)
    if name == "ray":
        from a3c.backends.ray_cluster import open_ray

        return open_ray(cfg, address)
    raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join(BACKENDS)}")
