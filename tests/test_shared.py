"""Hogwild: global parameters and optimizer statistics really are shared between processes."""

import multiprocessing as mp
import os
import queue
import signal
import threading
import time

import pytest
import torch

from a3c.backends.local import _CONTEXT, LocalBackend
from a3c.config import make_config
from a3c.model import ActorCritic
from a3c.optim import SharedAdam
from a3c.records import TrainRecord
from a3c.server import SharedParameterServer, flatten_module_
from tests.helpers import rmsprop


def _server(**overrides: object) -> SharedParameterServer:
    cfg = make_config("seed", overrides={"workers": 1, "learners_per_process": 1, **overrides})
    return SharedParameterServer(cfg)


def test_flat_views_alias_the_module() -> None:
    model = ActorCritic((4, 84, 84), 3)
    params, grads = flatten_module_(model)
    params.zero_()
    assert all((p == 0).all() for p in model.parameters())
    model.step(torch.ones(1, 4, 84, 84))[1].sum().backward()
    assert grads.abs().sum() > 0  # backward wrote into the flat gradient


def test_global_state_is_in_shared_memory() -> None:
    server = _server()
    assert server.params.is_shared()
    assert rmsprop(server).square_avg.is_shared()
    assert server.counters.is_shared()
    # The global module's parameters are views of the shared flat tensor.
    assert server.model is not None
    for p in server.model.parameters():
        assert p.is_shared()
        assert p.untyped_storage().data_ptr() == server.params.untyped_storage().data_ptr()


def _push_once(server: SharedParameterServer, results: "mp.Queue[float]") -> None:
    grad = torch.ones_like(server.params)
    seen = server.params.clone()
    server.push(grad, 80)
    results.put(float((server.params - seen).abs().sum()))


def test_a_push_in_another_process_changes_what_this_one_reads() -> None:
    server = _server()
    before = server.params.clone()
    results = _CONTEXT.Queue()
    proc = _CONTEXT.Process(target=_push_once, args=(server, results))
    proc.start()
    changed_there = results.get(timeout=60)
    proc.join(timeout=60)
    assert proc.exitcode == 0 and changed_there > 0
    assert not torch.equal(server.params, before)  # the parent reads the child's update
    assert (rmsprop(server).square_avg > 0).all()  # and the shared optimizer statistics
    assert server.frames() == 80 and server.updates() == 1


def test_learner_processes_train_the_shared_network() -> None:
    server = _server(workers=2, learners_per_process=1, frames=2000, t_max=5)
    before = server.params.clone()
    backend = LocalBackend()
    handles = [backend.start(server.cfg, server, [i]) for i in range(2)]
    for h in handles:
        h.join(timeout=120)
    assert [h.exitcode for h in handles] == [0, 0]
    assert server.frames() >= 2000
    assert server.updates() >= 50  # 20 frames per update; start steps count too
    assert not torch.equal(server.params, before)
    records = []
    while True:
        try:
            records.append(backend.queue.get(timeout=1))
        except queue.Empty:
            break
    assert {r.learner for r in records if isinstance(r, TrainRecord)} == {0, 1}
    backend.close()


def _count(server: SharedParameterServer, times: int) -> None:
    for _ in range(times):
        server.add_frames(3)


def test_counters_need_no_lock_and_lose_no_counts() -> None:
    """Each learner process counts into its own row: concurrent adds never collide."""
    server = _server(workers=4, learners_per_process=2)
    assert server.model is not None
    server.load_state(
        server.model.state_dict(), server.optimizer.state_dict(), frames=1000, updates=7
    )
    procs = [
        _CONTEXT.Process(target=_count, args=(server.for_learners(ids), 20_000))
        for ids in ([0, 1], [2, 3])
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    assert server.frames() == 1000 + 2 * 20_000 * 3  # a shared unlocked counter would lose some
    assert server.counters[0, 0] == server.counters[2, 0] == 60_000
    assert server.updates() == 7


def test_a_learner_killed_while_counting_cannot_stall_the_others() -> None:
    server = _server(workers=2)
    victim = _CONTEXT.Process(target=_count, args=(server.for_learners([0]), 10**9))
    victim.start()
    deadline = time.monotonic() + 60
    while server.frames() < 3000:  # it is counting, as fast as it can
        assert victim.is_alive() and time.monotonic() < deadline, "the counting process stalled"
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
    victim.join(timeout=30)
    survivor = threading.Thread(target=_count, args=(server.for_learners([1]), 1), daemon=True)
    survivor.start()
    survivor.join(timeout=10)  # a lock held by the dead process would block it for ever
    assert not survivor.is_alive()
    assert server.counters[1, 0] == 3


def test_adams_statistics_are_shared_with_a_learner_process_too() -> None:
    server = _server(optimizer="adam")
    results = _CONTEXT.Queue()
    proc = _CONTEXT.Process(target=_push_once, args=(server, results))
    proc.start()
    assert results.get(timeout=60) > 0
    proc.join(timeout=60)
    assert proc.exitcode == 0
    assert isinstance(server.optimizer, SharedAdam)
    assert server.optimizer.steps.tolist() == [1.0]  # the child's step, seen here
    assert (server.optimizer.exp_avg_sq > 0).all()


def test_a_server_whose_tensors_are_not_shared_is_refused_in_the_learner() -> None:
    server = _server()
    server.assert_shared()
    rmsprop(server).square_avg = torch.zeros_like(server.params)  # a private copy
    with pytest.raises(AssertionError, match="square_avg is not in shared memory"):
        server.assert_shared()
    # What a learner process does on receiving the server: it checks before anything else.
    arriving = SharedParameterServer.__new__(SharedParameterServer)
    with pytest.raises(AssertionError, match="square_avg is not in shared memory"):
        arriving.__setstate__(server.__getstate__())
