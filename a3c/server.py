"""The global network as learners see it: pull parameters, push gradients, count frames.

`ParameterServer` is the whole interface a learner uses; `SharedParameterServer` implements it with
tensors in shared memory that every learner process updates without locks (Hogwild), as the
A3C paper does. A cluster backend implements the same interface over the network.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

import torch
from torch import nn

from a3c.config import Config
from a3c.model import ActorCritic, build_model, network_shape
from a3c.optim import SharedOptimizer, make_optimizer


class ServerLost(RuntimeError):
    """The global network is gone (its process or node died): the run cannot go on."""


class ParameterServer(Protocol):
    """What a learner may do with the global network."""

    def pull(self, out: torch.Tensor) -> None:
        """Copy the global parameters into the flat tensor `out` (P,)."""
        ...

    def push(self, grad: torch.Tensor, frames: int) -> int:
        """Apply a flat gradient (P,) with the shared optimizer; add `frames` to the global count.

        Returns the global frame count after this update.
        """
        ...

    def add_frames(self, frames: int) -> int:
        """Add frames that produced no update (e.g. a skipped non-finite gradient)."""
        ...

    def frames(self) -> int:
        """Global emulator frames so far."""
        ...

    def for_learners(self, learner_ids: list[int]) -> ParameterServer:
        """The handle the learners `learner_ids` (one process or thread) push through."""
        ...


class GlobalServer(ParameterServer, Protocol):
    """The global network as the trainer sees it: a learner's view plus state for checkpoints."""

    obs_shape: tuple[int, ...]
    n_actions: int

    def updates(self) -> int:
        """Gradient updates applied so far."""
        ...

    def state(self) -> dict[str, Any]:
        """{"model": state_dict, "optimizer": {its statistics..., "updates"}, "frames"}."""
        ...

    def load_state(
        self, model: dict[str, torch.Tensor], optimizer: dict[str, Any], frames: int, updates: int
    ) -> None:
        """Restore parameters, optimizer statistics (a `state()["optimizer"]`) and counters
        (before learners start)."""
        ...


def flatten_module_(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-home a module's parameters and gradients as views of two flat tensors.

    Returns (params, grads), each (P,). Backward accumulates straight into `grads`, so a
    gradient push is one contiguous copy; `params.copy_(x)` loads a whole network at once.
    """
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    flat = torch.empty(total)
    flat_grad = torch.zeros(total)
    offset = 0
    for p in params:
        n = p.numel()
        flat[offset : offset + n].copy_(p.detach().reshape(-1))
        p.data = flat[offset : offset + n].view_as(p)
        p.grad = flat_grad[offset : offset + n].view_as(p)
        offset += n
    return flat, flat_grad


class SharedParameterServer:
    """Global parameters, RMSprop statistics and counters in shared memory (one machine).

    Learners in other processes receive this object at start; its tensors are shared, not copied.
    Updates are lock-free (Hogwild). So are the counters: each learner process adds to its own
    row, and the totals are row sums. A lock would deadlock the run if a process were killed
    while holding it; a killed process can at worst lose its last few frames from the count.
    """

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.obs_shape, self.n_actions = network_shape(cfg)
        self.model: ActorCritic | None = build_model(cfg)
        params, _ = flatten_module_(self.model)
        self.params = params.share_memory_()
        # flatten_module_ made the module's parameters views of `params` before it moved to shared
        # memory; share_memory_ moves storage in place, so the views follow.
        self.optimizer: SharedOptimizer = make_optimizer(cfg, len(self.params))
        # Columns [frames, updates]; row i belongs to the learner group whose first id is i, the
        # last row to this process (the counts a resumed run starts from).
        self.counters = torch.zeros((cfg.workers + 1, 2), dtype=torch.int64).share_memory_()
        self._row = cfg.workers

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["model"] = None  # learners build their own; the flat tensors are what is shared
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # In a learner process: what arrived must be the trainer's memory, not a copy.
        self.__dict__.update(state)
        self.assert_shared()

    def assert_shared(self) -> None:
        """Fail loudly if the parameters, counters or optimizer statistics are not in shared
        memory: a learner would then train a private copy while the run learned nothing."""
        for name in ("params", "counters"):
            if not getattr(self, name).is_shared():
                raise AssertionError(f"the parameter server's {name} are not in shared memory")
        self.optimizer.assert_shared()

    def for_learners(self, learner_ids: list[int]) -> SharedParameterServer:
        """A handle on the same shared tensors that counts into the row of `learner_ids`."""
        bound = copy.copy(self)
        bound.model = None
        bound.optimizer = copy.copy(self.optimizer)  # the same shared statistics, own scratch
        bound.optimizer._scratch = None
        bound._row = learner_ids[0]
        return bound

    def pull(self, out: torch.Tensor) -> None:
        out.copy_(self.params)

    def push(self, grad: torch.Tensor, frames: int) -> int:
        self.optimizer.step(self.params, grad, self.frames())
        self.counters[self._row, 1] += 1
        return self.add_frames(frames)

    def add_frames(self, frames: int) -> int:
        self.counters[self._row, 0] += frames  # this row has no other writer
        return self.frames()

    def frames(self) -> int:
        return int(self.counters[:, 0].sum())

    def updates(self) -> int:
        """Gradient updates applied so far."""
        return int(self.counters[:, 1].sum())

    # Checkpoint support (driver side).
    def state(self) -> dict[str, Any]:
        """A consistent-enough snapshot for a checkpoint (learners keep running: Hogwild)."""
        assert self.model is not None, "state() is only available in the process that owns it"
        return {
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": {**self.optimizer.state_dict(), "updates": self.updates()},
            "frames": self.frames(),
        }

    def load_state(
        self, model: dict[str, torch.Tensor], optimizer: dict[str, Any], frames: int, updates: int
    ) -> None:
        """Restore parameters, optimizer statistics and counters (before learners start)."""
        assert self.model is not None
        self.model.load_state_dict(model)
        self.optimizer.load_state_dict(optimizer)
        self.counters.zero_()
        self.counters[-1, 0] = frames
        self.counters[-1, 1] = updates
