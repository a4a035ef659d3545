"""Learners as Ray actors; the global network and its RMSprop in one parameter-server actor.

The parameter server applies each gradient as it arrives (one at a time, in arrival order), with
the same `SharedParameterServer` update the local backend uses. Learner actors run the same
`run_learners` as local processes, through `RayServerClient`, which pulls weights and pushes
gradients as Ray calls. Records reach the trainer through a Ray queue, in small batches.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import socket
import time
import traceback
import warnings
from typing import Any

import numpy as np
import torch

from a3c.backends import BackendUnavailable, LearnerHandle
from a3c.config import Config, learner_groups
from a3c.model import network_shape
from a3c.records import EpisodeRecord, ErrorRecord, Record
from a3c.server import GlobalServer, ServerLost, SharedParameterServer

try:
    import ray
    from ray.util.queue import Empty as QueueEmpty
    from ray.util.queue import Queue
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError:  # an optional extra: `--backend ray` says how to install it
    ray = None  # type: ignore[assignment]

INSTALL_HINT = "--backend ray needs Ray: pip install '.[ray]' (Ray 2.60) in this environment"


def _quiet_readonly_warning() -> None:
    # Arrays that Ray hands over are read-only views of its object store; they are only read.
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


class ParameterServerActor:
    """The global network, its RMSprop statistics and the counters, in one Ray actor."""

    def __init__(self, cfg: Config) -> None:
        torch.set_num_threads(1)
        _quiet_readonly_warning()
        self.server = SharedParameterServer(cfg)
        self.stopping = False

    def pull(self) -> tuple[np.ndarray, int, bool]:
        """(parameters (P,), global frames, whether learners should stop)."""
        return self.server.params.numpy(), self.server.frames(), self.stopping

    def push(self, grad: np.ndarray, frames: int) -> int:
        return self.server.push(torch.from_numpy(grad), frames)

    def add_frames(self, frames: int) -> int:
        return self.server.add_frames(frames)

    def frames(self) -> int:
        return self.server.frames()

    def updates(self) -> int:
        return self.server.updates()

    def state(self) -> dict[str, Any]:
        return self.server.state()

    def load_state(
        self, model: dict[str, torch.Tensor], optimizer: dict[str, Any], frames: int, updates: int
    ) -> None:
        self.server.load_state(model, optimizer, frames, updates)

    def request_stop(self) -> None:
        self.stopping = True


class RayServer:
    """The trainer's side of the parameter-server actor (a `GlobalServer`).

    Raises ServerLost once the actor is gone: it alone holds the run, so the run must stop.
    """

    def __init__(self, actor: Any, obs_shape: tuple[int, ...], n_actions: int) -> None:
        self.actor = actor
        self.obs_shape = obs_shape
        self.n_actions = n_actions

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return ray.get(getattr(self.actor, method).remote(*args))
        except ray.exceptions.RayActorError as err:
            raise ServerLost(f"the parameter-server actor died ({_first_line(err)})") from None

    def pull(self, out: torch.Tensor) -> None:
        params, _, _ = self._call("pull")
        out.numpy()[:] = params

    def push(self, grad: torch.Tensor, frames: int) -> int:
        return int(self._call("push", grad.numpy(), frames))

    def add_frames(self, frames: int) -> int:
        return int(self._call("add_frames", frames))

    def frames(self) -> int:
        return int(self._call("frames"))

    def updates(self) -> int:
        return int(self._call("updates"))

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._call("state")
        return state

    def load_state(
        self, model: dict[str, torch.Tensor], optimizer: dict[str, Any], frames: int, updates: int
    ) -> None:
        self._call("load_state", model, optimizer, frames, updates)

    def for_learners(self, learner_ids: list[int]) -> RayServer:
        return self


class RayServerClient:
    """A learner's `ParameterServer` on Ray.

    Pushes do not wait: the actor runs one caller's calls in order, so the next pull returns
    weights that include every earlier push. Between pulls, `frames()` is the count at the last
    pull plus this learner's own frames since.
    """

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.stopping = False
        self._frames = 0
        self._pending: list[Any] = []

    def pull(self, out: torch.Tensor) -> None:
        params, self._frames, self.stopping = ray.get(self.actor.pull.remote())
        out.numpy()[:] = params
        self.wait_for_pushes()  # already done (they ran before the pull); raises their errors

    def push(self, grad: torch.Tensor, frames: int) -> int:
        # The array is copied into Ray's object store here, so the caller may reuse `grad`.
        self._pending.append(self.actor.push.remote(grad.numpy(), frames))
        self._frames += frames
        return self._frames

    def add_frames(self, frames: int) -> int:
        self._pending.append(self.actor.add_frames.remote(frames))
        self._frames += frames
        return self._frames

    def frames(self) -> int:
        return self._frames

    def for_learners(self, learner_ids: list[int]) -> RayServerClient:
        return self

    def wait_for_pushes(self) -> None:
        """Block until the server has applied every push sent so far."""
        ray.get(self._pending)
        self._pending.clear()


class _BatchedSink:
    """Sends a learner's records to the trainer's queue a few times a second, not one by one."""

    def __init__(self, queue: Any, interval_s: float = 0.25) -> None:
        self._clock = time.monotonic
        self.queue = queue
        self.interval_s = interval_s
        self.buffer: list[Record] = []
        self.last = self._clock()

    def put(self, record: Record) -> None:
        self.buffer.append(record)
        if not isinstance(record, EpisodeRecord) or self._clock() - self.last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.queue.put_nowait_batch(self.buffer)
            self.buffer = []
        self.last = self._clock()


class LearnerActor:
    """Runs a group of actor-learners (`run_learners`) against the parameter-server actor."""

    def __init__(self) -> None:
        import cv2

        torch.set_num_threads(1)
        cv2.setNumThreads(1)
        _quiet_readonly_warning()

    def run(self, server_actor: Any, queue: Any, cfg: Config, learner_ids: list[int]) -> None:
        """Train until the budget is spent or the server says stop (called again on restart)."""
        from a3c.learner import run_learners

        client = RayServerClient(server_actor)
        sink = _BatchedSink(queue)
        try:
            run_learners(cfg, client, learner_ids, sink, lambda: client.stopping)
            # The trainer's final checkpoint comes after this call returns: it must hold the
            # last pushes (other callers' calls are not ordered after ours).
            client.wait_for_pushes()
        except Exception:
            sink.put(ErrorRecord(learner_ids, traceback.format_exc()))
            raise
        finally:
            sink.flush()

    def pid(self) -> int:
        return os.getpid()


class RayLearnerHandle:
    """A learner group's actor and its current `run` call, seen as a process-like handle.

    After a death Ray restarts the actor's process; until it answers, the handle pings it (never
    blocking the trainer) and only then starts `run` again.
    """

    def __init__(self, actor: Any, run_args: tuple[Any, ...], restarting: bool) -> None:
        self.actor = actor
        self.run_args = run_args
        self.ref: Any = None
        self.ping: Any = actor.pid.remote() if restarting else None
        if not restarting:
            self.ref = actor.run.remote(*run_args)
        self._exitcode: int | None = None
        self.cause = ""
        self.gave_up = False  # the actor cannot be restarted: a new one is needed

    def _poll(self, timeout: float = 0.0) -> None:
        if self._exitcode is not None:
            return
        if self.ping is not None:
            self._poll_restart(timeout)
            return
        ready, _ = ray.wait([self.ref], timeout=timeout)
        if not ready:
            return
        try:
            ray.get(self.ref)
            self._exitcode = 0
        except ray.exceptions.RayActorError as err:  # the process or its node died
            self._exitcode = -1
            self.cause = "actor died: " + _first_line(err)
        except ray.exceptions.RayTaskError as err:  # run_learners raised; the record says more
            self._exitcode = 1
            self.cause = "raised " + _first_line(err)
        except ray.exceptions.RayError as err:  # its results were lost, or Ray itself failed
            self._exitcode = 1
            self.cause = "failed in Ray: " + _first_line(err)

    def _poll_restart(self, timeout: float) -> None:
        ready, _ = ray.wait([self.ping], timeout=timeout)
        if not ready:
            return
        try:
            ray.get(self.ping)
        except ray.exceptions.ActorUnavailableError:  # still restarting: ask again
            self.ping = self.actor.pid.remote()
            return
        except ray.exceptions.RayError as err:
            self._exitcode = -1
            self.cause = "actor could not be restarted: " + _first_line(err)
            self.gave_up = True
            return
        self.ping = None
        self.ref = self.actor.run.remote(*self.run_args)

    def is_alive(self) -> bool:
        self._poll()
        return self._exitcode is None

    def join(self, timeout: float | None = None) -> None:
        self._poll(timeout if timeout is not None else 1e9)

    @property
    def exitcode(self) -> int | None:
        self._poll()
        return self._exitcode


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class RayBackend:
    """Learner groups as Ray actors that Ray restarts when they die."""

    def __init__(self, server: RayServer, cpus_per_group: float, here: Any) -> None:
        self.server = server
        self.cpus_per_group = cpus_per_group
        self.queue = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})
        self.actors: dict[tuple[int, ...], Any] = {}
        self.handles: dict[tuple[int, ...], RayLearnerHandle] = {}
        self.buffer: collections.deque[Record] = collections.deque()

    def start(self, cfg: Config, server: GlobalServer, learner_ids: list[int]) -> LearnerHandle:
        key = tuple(learner_ids)
        actor: Any = self.actors.get(key)
        last = self.handles.get(key)
        if actor is not None and last is not None and last.gave_up:
            with contextlib.suppress(Exception):
                ray.kill(actor, no_restart=True)
            actor = None
        restarting = actor is not None  # Ray is restarting its process (max_restarts)
        if actor is None:
            actor = (
                ray.remote(LearnerActor)
                .options(
                    num_cpus=self.cpus_per_group,
                    max_restarts=-1,
                )
                .remote()
            )
            self.actors[key] = actor
        handle = RayLearnerHandle(
            actor, (self.server.actor, self.queue, cfg, learner_ids), restarting
        )
        self.handles[key] = handle
        return handle

    def stop(self) -> None:
        self.server.actor.request_stop.remote()

    def get(self, timeout: float) -> Record | None:
        if not self.buffer:
            try:
                if timeout > 0:
                    self.buffer.append(self.queue.get(block=True, timeout=timeout))
                else:
                    self.buffer.append(self.queue.get_nowait())
                waiting = self.queue.qsize()
                if waiting:
                    self.buffer.extend(self.queue.get_nowait_batch(waiting))
            except QueueEmpty:
                return None
            except ray.exceptions.RayActorError as err:  # it lives beside the server
                raise ServerLost(f"the trainer's record queue died ({_first_line(err)})") from None
        return self.buffer.popleft()

    def exit_cause(self, handle: LearnerHandle) -> str:
        assert isinstance(handle, RayLearnerHandle)
        return handle.cause or f"exited with status {handle.exitcode}"

    def close(self) -> None:
        """Kill every actor of the run, so that none is left in the cluster, and disconnect."""
        for actor in [*self.actors.values(), self.server.actor]:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        with contextlib.suppress(Exception):
            self.queue.shutdown()
        ray.shutdown()


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a cluster address that cannot be one: not 'auto' or HOST:PORT, or nothing
    listening there. (Ray itself retries a dead address for minutes before it gives up.)

    Raises BackendUnavailable with a message naming the address.
    """
    if address == "auto":
        return  # Ray looks for the cluster `ray start` began on this machine, and says so at once
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BackendUnavailable(
            f"--address {address!r} is not 'auto' or HOST:PORT (e.g. 10.0.0.5:6379)"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise BackendUnavailable(
            f"cannot connect to the Ray cluster at {address!r} ({reason}); start one there with "
            "`ray start --head`, or leave out --address to run Ray on this machine"
        ) from None


def open_ray(cfg: Config, address: str | None) -> tuple[RayServer, RayBackend]:
    """Connect to the cluster at `address` (or start a local one) and start the server actor."""
    if ray is None:
        raise BackendUnavailable(INSTALL_HINT)
    # ray.init installs its own SIGTERM handler (a plain exit); the trainer's must stay, so that
    # SIGTERM stops a run as Ctrl-C does, with a final checkpoint.
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            namespace="a3c",
        )
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise BackendUnavailable(f"cannot connect to {where}: {_first_line(err)}") from None
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    try:
        # The server and the record queue live on the driver's node, with the run's files.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        actor = (
            ray.remote(ParameterServerActor)
            .options(num_cpus=0, max_restarts=0, scheduling_strategy=here)
            .remote(cfg)
        )
        server = RayServer(actor, *network_shape(cfg))
        server.frames()  # wait until it is up, so that a failure shows here
        # One CPU per learner group, or a share of the cluster's if there are more groups.
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        groups = len(learner_groups(cfg))
        return server, RayBackend(server, min(1.0, cpus / groups), here)
    except (ServerLost, ray.exceptions.RayError) as err:
        ray.shutdown()
        raise BackendUnavailable(f"cannot start the parameter server: {_first_line(err)}") from None
