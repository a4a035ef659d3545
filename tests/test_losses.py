"""The A3C maths against hand-computed values and gradients."""

import math

import pytest
import torch
import torch.nn.functional as F

from a3c.config import make_config
from a3c.learner import Rollout, rollout_loss
from a3c.losses import a3c_loss, entropy, n_step_returns, policy_loss, value_loss


def test_n_step_returns_with_bootstrap() -> None:
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    ends = torch.zeros(3, 1)
    returns = n_step_returns(rewards, ends, torch.tensor([10.0]), gamma=0.5)
    # R2 = 2 + 0.5 * 10 = 7; R1 = 0 + 0.5 * 7 = 3.5; R0 = 1 + 0.5 * 3.5 = 2.75
    assert returns[:, 0].tolist() == [2.75, 3.5, 7.0]


def test_n_step_returns_without_bootstrap_at_episode_end() -> None:
    rewards = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    ends = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # env 0 ends at the last step, env 1 at the first
    returns = n_step_returns(rewards, ends, torch.tensor([100.0, 100.0]), gamma=0.9)
    assert returns[:, 0].tolist() == pytest.approx([1.9, 1.0])  # the bootstrap is ignored
    # env 1: its first game ended at step 0 (no value flows back); step 1 bootstraps.
    assert returns[:, 1].tolist() == pytest.approx([1.0, 1.0 + 0.9 * 100.0])


def test_policy_loss_value_and_gradient() -> None:
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]], requires_grad=True)
    actions = torch.tensor([1, 2])
    adv = torch.tensor([2.0, -1.0])
    log_probs = F.log_softmax(logits, dim=1)
    loss = policy_loss(log_probs, actions, adv)
    p0 = torch.softmax(logits.detach()[0], 0)
    expected = -(2.0 * math.log(p0[1]) - 1.0 * math.log(1 / 3))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # d(-A log softmax_a)/dlogits = -A (onehot(a) - p)
    expected_grad0 = -2.0 * (torch.tensor([0.0, 1.0, 0.0]) - p0)
    expected_grad1 = 1.0 * (torch.tensor([0.0, 0.0, 1.0]) - torch.full((3,), 1 / 3))
    assert logits.grad is not None
    assert torch.allclose(logits.grad[0], expected_grad0, atol=1e-6)
    assert torch.allclose(logits.grad[1], expected_grad1, atol=1e-6)


def test_policy_loss_treats_advantages_as_constants() -> None:
    adv = torch.tensor([1.5], requires_grad=True)
    logits = torch.zeros(1, 2, requires_grad=True)
    loss = policy_loss(F.log_softmax(logits, 1), torch.tensor([0]), adv)
    loss.backward()
    assert logits.grad is not None
    assert adv.grad is None


def test_entropy_value_and_gradient() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)  # p = [0.25, 0.75]
    ent = entropy(F.log_softmax(logits, dim=1))
    expected = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert ent.item() == pytest.approx(expected, rel=1e-6)
    ent.backward()
    # dH/dz_i = -p_i (log p_i + H)
    p = torch.tensor([0.25, 0.75])
    expected_grad = -p * (torch.log(p) + expected)
    assert logits.grad is not None
    assert torch.allclose(logits.grad[0], expected_grad, atol=1e-6)


@pytest.mark.parametrize("reduction,scale", [("mean", 0.5), ("sum", 1.0)])
def test_value_loss_value_and_gradient(reduction: str, scale: float) -> None:
    values = torch.tensor([1.0, 3.0], requires_grad=True)
    returns = torch.tensor([2.0, 0.0])
    loss = value_loss(values, returns, reduction)
    assert loss.item() == pytest.approx(scale * (1.0 + 9.0))
    loss.backward()
    assert values.grad is not None
    assert values.grad.tolist() == pytest.approx([scale * 2 * -1.0, scale * 2 * 3.0])


def test_total_loss_combines_terms_with_entropy_bonus() -> None:
    logits = torch.tensor([[0.3, -0.2, 0.1], [1.0, 0.0, -1.0]])
    values = torch.tensor([0.5, -0.5])
    actions = torch.tensor([0, 2])
    returns = torch.tensor([1.0, 0.0])
    total, terms = a3c_loss(logits, values, actions, returns, 0.01, 0.5, "sum")
    log_probs = F.log_softmax(logits, 1)
    expected = (
        policy_loss(log_probs, actions, returns - values)
        - 0.01 * entropy(log_probs)
        + 0.5 * value_loss(values, returns, "sum")
    )
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms["entropy"] == pytest.approx(entropy(log_probs).item() / 2, rel=1e-6)


class _KnownValues(torch.nn.Module):
    """A 'network' whose value of a state is the number written in it; uniform policy."""

    def forward(
        self, obs: torch.Tensor, state: tuple = (), starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """obs (T, B, ...) -> logits (T, B, 2), values (T, B), no state."""
        values = obs.reshape(*obs.shape[:2], -1)[..., 0].float()
        return torch.zeros(*obs.shape[:2], 2) + 0 * values[..., None], values, ()


def test_rollout_bootstraps_from_state_after_last_step() -> None:
    """The seed's bug: it bootstrapped from V of the state *before* the last step."""
    cfg = make_config("seed", overrides={"gamma": 0.5, "entropy_coef": 0.0})
    roll = Rollout.allocate(t_max=2, num_envs=1, obs_shape=(1,), dtype=torch.float32)
    roll.obs[:, 0, 0] = torch.tensor([0.0, 4.0, 8.0])  # V(s0)=0, V(s1)=4, V(s2)=8
    roll.rewards[:] = torch.tensor([[1.0], [1.0]])
    model = _KnownValues()
    values = torch.tensor([0.0, 4.0])
    _, terms = rollout_loss(model, roll, 2, slice(0, 1), cfg)  # type: ignore[arg-type]
    # After the last step the state is s2 (V=8): R1 = 1 + 0.5*8 = 5, R0 = 1 + 0.5*5 = 3.5.
    right = torch.tensor([3.5, 5.0])
    assert terms["value"] == pytest.approx(((values - right) ** 2).mean().item())
    # With the seed's bootstrap V(s1)=4 the value loss would differ: R = [2.5, 3].
    wrong = torch.tensor([2.5, 3.0])
    assert terms["value"] != pytest.approx(((values - wrong) ** 2).mean().item())


def test_the_seeds_critic_loss_broadcasts_and_ours_does_not() -> None:
    """The seed's `K.mean(K.square(R - V))` with R (N,) and V (N, 1) averages (R_j - V_i)^2 over
    all N*N pairs: its gradient pulls each V_i toward the rollout's mean return, ours toward
    the state's own return."""
    returns = torch.tensor([1.0, 0.5, 0.0, 2.5])
    n = len(returns)
    seed_values = torch.tensor([0.2, 0.4, 0.6, 0.8], requires_grad=True)
    seed_loss = (returns - seed_values[:, None]).square().mean()  # (N,) - (N, 1) -> (N, N)
    seed_loss.backward()
    our_values = seed_values.detach().clone().requires_grad_(True)
    value_loss(our_values, returns, "mean").backward()
    assert seed_values.grad is not None and our_values.grad is not None
    v = seed_values.detach()
    torch.testing.assert_close(seed_values.grad, 2 / n * (v - returns.mean()))
    torch.testing.assert_close(our_values.grad, 2 / n * (v - returns))
    assert not torch.allclose(seed_values.grad, our_values.grad)
    # At V = R our loss is at its minimum; the seed's still moves the values toward the mean.
    at_returns = returns.clone().requires_grad_(True)
    (returns - at_returns[:, None]).square().mean().backward()
    assert at_returns.grad is not None and at_returns.grad.abs().max() > 0.5
