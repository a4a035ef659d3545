"""The shared optimizers: statistics that live beside the global parameters, as flat tensors in
shared memory, updated by every learner without a lock (Hogwild), and their schedule.

`SharedOptimizer` is the one interface the parameter servers, checkpoints and resumes use; a new
optimizer is a subclass here and a name in `OPTIMIZERS`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from a3c.config import Config


def rmsprop_step_(
    params: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    lr: float,
    alpha: float,
    eps: float,
    eps_inside_sqrt: bool,
    scratch: torch.Tensor | None = None,
) -> None:
    """One RMSprop update, in place on flat tensors of equal shape (P,).

    v <- alpha * v + (1 - alpha) * g^2, then params <- params - lr * g / d with
    d = sqrt(v + eps) (TensorFlow and the A3C paper) or d = sqrt(v) + eps (Keras, torch.optim).
    Hogwild: called by many learners on the same shared tensors without a lock. `scratch` (P,),
    private to the caller, saves allocating the denominator on every call.
    """
    denom = torch.empty_like(params) if scratch is None else scratch
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1.0 - alpha)
    if eps_inside_sqrt:
        torch.add(square_avg, eps, out=denom).sqrt_()
    else:
        torch.sqrt(square_avg, out=denom).add_(eps)
    params.addcdiv_(grad, denom, value=-lr)


def adam_step_(
    params: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    step: int,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    scratch: torch.Tensor | None = None,
) -> None:
    """One Adam update (Kingma and Ba), in place on flat tensors (P,); `step` counts from 1.

    m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, then
    params <- params - lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps), as
    torch.optim.Adam without weight decay.
    """
    beta1, beta2 = betas
    denom = torch.empty_like(params) if scratch is None else scratch
    exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
    correction1 = 1.0 - beta1**step
    correction2 = 1.0 - beta2**step
    torch.sqrt(exp_avg_sq, out=denom).div_(math.sqrt(correction2)).add_(eps)
    params.addcdiv_(exp_avg, denom, value=-lr / correction1)


def learning_rate(base_lr: float, schedule: str, frames: int, total_frames: int) -> float:
    """The learning rate after `frames` of `total_frames`: constant, or linear down to 0."""
    if schedule == "linear":
        return base_lr * max(0.0, 1.0 - frames / total_frames)
    return base_lr


def clip_grad_norm_(grad: torch.Tensor, max_norm: float) -> float:
    """Scale the flat gradient (P,) in place to at most `max_norm` (0: no clipping).

    Returns the norm before clipping (inf or nan if the gradient is not finite).
    """
    norm = float(torch.linalg.vector_norm(grad))
    if max_norm > 0 and norm > max_norm:
        grad.mul_(max_norm / (norm + 1e-6))
    return norm


class SharedOptimizer:
    """An optimizer whose statistics (flat tensors of the parameters' size P) are in shared
    memory, so that every learner process steps the same ones. Pickled to a learner process, it
    brings the shared tensors along (not copies) and makes its own scratch space there.
    """

    name: ClassVar[str]
    state_keys: ClassVar[tuple[str, ...]]  # the tensors of its state

    def __init__(self, cfg: Config, size: int) -> None:
        self.cfg = cfg
        self.size = size
        self._scratch: torch.Tensor | None = None  # private to each process

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_scratch"] = None
        return state

    def _shared(self, value: float, size: int | None = None) -> torch.Tensor:
        return torch.full((self.size if size is None else size,), value).share_memory_()

    @classmethod
    def shape(cls, key: str, size: int) -> tuple[int, ...]:
        """The shape of the state tensor `key` for `size` parameters: (P,) but for counters."""
        return (size,)

    def _scratch_for(self, params: torch.Tensor) -> torch.Tensor:
        if self._scratch is None:
            self._scratch = torch.empty_like(params)
        return self._scratch

    def step(self, params: torch.Tensor, grad: torch.Tensor, frames: int) -> None:
        """Apply a flat gradient (P,) to the shared parameters (P,), in place and without a
        lock, at the learning rate the schedule gives after `frames` global frames."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Copies of the statistics, for a checkpoint."""
        return {key: getattr(self, key).clone() for key in self.state_keys}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict` (raises ValueError if they do not fit)."""
        problem = self.check_state(state, self.size)
        if problem is not None:
            raise ValueError(problem)
        for key in self.state_keys:
            getattr(self, key).copy_(state[key])

    @classmethod
    def check_state(cls, state: Any, size: int) -> str | None:
        """Why `state` cannot be this optimizer's for `size` parameters, or None if it can."""
        if not isinstance(state, dict):
            return "its optimizer state is not a table"
        for key in cls.state_keys:
            value = state.get(key)
            shape = cls.shape(key, size)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                return f"its {cls.name} state has no {key} of shape {shape}"
        return None

    def assert_shared(self) -> None:
        """Fail loudly if a statistic is not in shared memory (learners would diverge)."""
        for key in self.state_keys:
            if not getattr(self, key).is_shared():
                raise AssertionError(f"{self.name} {key} is not in shared memory")

    def _lr(self, frames: int) -> float:
        cfg = self.cfg
        return learning_rate(cfg.lr, cfg.lr_schedule, frames, cfg.frames)


class SharedRMSprop(SharedOptimizer):
    """RMSprop with its mean square shared (the A3C paper's "shared RMSprop"); ε inside or
    outside the root (`rms_eps_inside_sqrt`), the mean square starting at `rms_init`."""

    name = "rmsprop"
    state_keys = ("square_avg",)

    def __init__(self, cfg: Config, size: int) -> None:
        super().__init__(cfg, size)
        self.square_avg = self._shared(cfg.rms_init)

    def step(self, params: torch.Tensor, grad: torch.Tensor, frames: int) -> None:
        cfg = self.cfg
        rmsprop_step_(
            params,
            grad,
            self.square_avg,
            self._lr(frames),
            cfg.rms_alpha,
            cfg.rms_eps,
            cfg.rms_eps_inside_sqrt,
            self._scratch_for(params),
        )


class SharedAdam(SharedOptimizer):
    """Adam with both moments and its step count shared (as ikostrikov/pytorch-a3c's
    SharedAdam): β1, β2 = `adam_beta1`, `adam_beta2`, ε = `adam_eps`."""

    name = "adam"
    state_keys = ("exp_avg", "exp_avg_sq", "steps")

    def __init__(self, cfg: Config, size: int) -> None:
        super().__init__(cfg, size)
        self.exp_avg = self._shared(0.0)
        self.exp_avg_sq = self._shared(0.0)
        # One count for all learners. Hogwild: two may read the same count, which only repeats
        # a bias correction that is near 1 after the first few hundred updates.
        self.steps = self._shared(0.0, size=1)

    @classmethod
    def shape(cls, key: str, size: int) -> tuple[int, ...]:
        return (1,) if key == "steps" else (size,)

    def step(self, params: torch.Tensor, grad: torch.Tensor, frames: int) -> None:
        cfg = self.cfg
        self.steps += 1
        adam_step_(
            params,
            grad,
            self.exp_avg,
            self.exp_avg_sq,
            int(self.steps[0]),
            self._lr(frames),
            (cfg.adam_beta1, cfg.adam_beta2),
            cfg.adam_eps,
            self._scratch_for(params),
        )


OPTIMIZERS: dict[str, type[SharedOptimizer]] = {
    SharedRMSprop.name: SharedRMSprop,
    SharedAdam.name: SharedAdam,
}


def make_optimizer(cfg: Config, size: int) -> SharedOptimizer:
    """The shared optimizer a config asks for, over `size` parameters, its state fresh."""
    return OPTIMIZERS[cfg.optimizer](cfg, size)
