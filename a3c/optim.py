"""RMSprop whose statistics live beside the global parameters, as flat tensors, and its schedule."""

from __future__ import annotations

import torch


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
