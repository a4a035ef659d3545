"""The A3C maths as pure tensor functions: n-step returns and the three loss terms."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from a3c.records import LOSS_TERMS


def n_step_returns(
    rewards: torch.Tensor, ends: torch.Tensor, bootstrap: torch.Tensor, gamma: float
) -> torch.Tensor:
    """Discounted n-step returns, computed backwards through a rollout.

    rewards: (T, E) rewards r_t received after the action at step t.
    ends: (T, E) 1.0 where the episode ended (terminal) at step t, else 0.0; no value flows
        back across an end.
    bootstrap: (E,) value of the state *after* the last step, V(s_T) (ignored where ends[-1]).
    Returns (T, E): R_t = r_t + gamma * (1 - ends_t) * R_{t+1}, with R_T = bootstrap.
    """
    returns = torch.empty_like(rewards)
    running = bootstrap
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * (1.0 - ends[t]) * running
        returns[t] = running
    return returns


def policy_loss(
    log_probs: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor
) -> torch.Tensor:
    """-sum_t log pi(a_t|s_t) * A_t, with advantages treated as constants.

    log_probs: (N, A) log-softmax of the policy; actions: (N,) int64; advantages: (N,).
    """
    chosen = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)
    return -(chosen * advantages.detach()).sum()


def entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """Summed policy entropy, sum_n -sum_a pi log pi. log_probs: (N, A). Returns a scalar."""
    return -(log_probs.exp() * log_probs).sum()


def value_loss(
    values: torch.Tensor, returns: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Squared error between V(s_t) and the n-step return; values, returns: (N,)."""
    return F.mse_loss(values, returns.detach(), reduction=reduction)


def a3c_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    returns: torch.Tensor,
    entropy_coef: float,
    value_coef: float,
    value_reduction: str,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss = policy loss - entropy_coef * entropy + value_coef * value loss.

    logits: (N, A); values, returns: (N,); actions: (N,). Advantages are returns - V.
    Returns the loss and its terms as floats for logging.
    """
    log_probs = F.log_softmax(logits, dim=1)
    advantages = returns - values.detach()
    pl = policy_loss(log_probs, actions, advantages)
    ent = entropy(log_probs)
    vl = value_loss(values, returns, value_reduction)
    total = pl - entropy_coef * ent + value_coef * vl
    values_of = (pl.item(), vl.item(), ent.item() / logits.shape[0])
    terms = dict(zip(LOSS_TERMS, values_of, strict=True))
    return total, terms
