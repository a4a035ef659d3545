"""The shared RMSprop and the learning-rate schedule."""

import pytest
import torch

from a3c.optim import clip_grad_norm_, learning_rate, rmsprop_step_
from tests.helpers import rmsprop


def test_rmsprop_eps_outside_matches_torch_rmsprop() -> None:
    torch.manual_seed(0)
    ours = torch.randn(50)
    theirs = torch.nn.Parameter(ours.clone())
    opt = torch.optim.RMSprop([theirs], lr=0.01, alpha=0.9, eps=0.01)
    square_avg = torch.zeros(50)
    for _ in range(5):
        grad = torch.randn(50)
        rmsprop_step_(ours, grad, square_avg, lr=0.01, alpha=0.9, eps=0.01, eps_inside_sqrt=False)
        theirs.grad = grad.clone()
        opt.step()
    assert torch.allclose(ours, theirs.detach(), atol=1e-6)
    assert torch.allclose(square_avg, opt.state[theirs]["square_avg"])


def test_rmsprop_eps_inside_sqrt_by_hand() -> None:
    params = torch.tensor([1.0, -2.0])
    grad = torch.tensor([0.5, 1.0])
    square_avg = torch.tensor([0.1, 0.0])
    rmsprop_step_(params, grad, square_avg, lr=0.1, alpha=0.99, eps=0.1, eps_inside_sqrt=True)
    v = torch.tensor([0.99 * 0.1 + 0.01 * 0.25, 0.01 * 1.0])
    assert torch.allclose(square_avg, v)
    expected = torch.tensor([1.0, -2.0]) - 0.1 * grad / torch.sqrt(v + 0.1)
    assert torch.allclose(params, expected)


def test_learning_rate_schedule() -> None:
    assert learning_rate(7e-4, "constant", 50, 100) == 7e-4
    assert learning_rate(7e-4, "linear", 25, 100) == pytest.approx(7e-4 * 0.75)
    assert learning_rate(7e-4, "linear", 150, 100) == 0.0


def test_clip_grad_norm() -> None:
    grad = torch.tensor([3.0, 4.0])
    assert clip_grad_norm_(grad, 1.0) == pytest.approx(5.0)
    assert torch.linalg.vector_norm(grad).item() == pytest.approx(1.0, rel=1e-5)
    grad = torch.tensor([3.0, 4.0])
    clip_grad_norm_(grad, 0.0)
    assert grad.tolist() == [3.0, 4.0]


def test_the_paper_presets_optimizer_through_the_shared_server() -> None:
    """The `paper` (and `v5`) optimizer as the learners reach it: one push a quarter of the way
    through the budget applies RMSprop with ε 0.1 inside the root at 3/4 of the base rate."""
    from a3c.config import make_config
    from a3c.server import SharedParameterServer

    cfg = make_config("paper")
    assert (cfg.rms_eps, cfg.rms_eps_inside_sqrt, cfg.lr_schedule) == (0.1, True, "linear")
    server = SharedParameterServer(cfg)
    at = cfg.frames // 4
    square_avg = torch.linspace(1e-4, 2e-2, len(server.params))
    server.load_state(server.state()["model"], {"square_avg": square_avg}, at, 10)
    params, v = server.params.clone(), rmsprop(server).square_avg.clone()
    grad = torch.linspace(-0.05, 0.04, len(params))
    assert server.push(grad, 80) == at + 80
    v_expected = cfg.rms_alpha * v + (1 - cfg.rms_alpha) * grad.square()
    lr = 0.75 * cfg.lr
    params_expected = params - lr * grad / (v_expected + cfg.rms_eps).sqrt()
    torch.testing.assert_close(rmsprop(server).square_avg, v_expected, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(server.params, params_expected, rtol=1e-6, atol=1e-9)
    # ε outside the root would have moved the weights about 3 times as far: not within tolerance.
    outside = params - lr * grad / (v_expected.sqrt() + cfg.rms_eps)
    assert not torch.allclose(server.params, outside, rtol=1e-3, atol=1e-7)


def test_rmsprop_statistics_start_at_rms_init() -> None:
    """Through the shared server: with v = 0 (torch.optim's start) the first push moves every
    weight by about 10 × lr whatever its gradient; with v = 1 (TensorFlow's) by lr × g."""
    from a3c.config import make_config
    from a3c.server import SharedParameterServer

    lr, g = 1e-2, 1e-3
    for start, first_step in ((0.0, 10 * lr), (1.0, lr * g / (0.99 + 0.01 * g**2) ** 0.5)):
        overrides = {"rms_init": start, "lr": lr, "rms_eps": 1e-12, "rms_eps_inside_sqrt": True}
        server = SharedParameterServer(make_config("seed", overrides=overrides))
        assert (
            torch.all(rmsprop(server).square_avg == start)
            and rmsprop(server).square_avg.is_shared()
        )
        before = server.params.clone()
        server.push(torch.full_like(server.params, g), frames=80)
        moved = before - server.params
        assert torch.allclose(moved, torch.full_like(before, first_step), rtol=1e-3)


def test_adam_matches_torch_optim_adam() -> None:
    from a3c.optim import adam_step_

    torch.manual_seed(0)
    ours = torch.randn(50)
    theirs = ours.clone().requires_grad_(True)
    opt = torch.optim.Adam([theirs], lr=0.01, betas=(0.8, 0.95), eps=1e-6)
    m, v = torch.zeros(50), torch.zeros(50)
    for step in range(1, 6):
        grad = torch.randn(50)
        adam_step_(ours, grad, m, v, step, lr=0.01, betas=(0.8, 0.95), eps=1e-6)
        theirs.grad = grad.clone()
        opt.step()
    assert torch.allclose(ours, theirs.detach(), atol=1e-6)
    assert torch.allclose(m, opt.state[theirs]["exp_avg"])
    assert torch.allclose(v, opt.state[theirs]["exp_avg_sq"])


def test_shared_adam_through_the_server_and_back_from_its_state() -> None:
    """`optimizer = "adam"` is one name: the server steps it, its statistics are shared, its
    state goes to a checkpoint and comes back, and a state that does not fit is refused."""
    from a3c.config import make_config
    from a3c.optim import SharedAdam
    from a3c.server import SharedParameterServer

    cfg = make_config("seed", overrides={"optimizer": "adam", "lr": 1e-3, "workers": 1})
    server = SharedParameterServer(cfg)
    assert isinstance(server.optimizer, SharedAdam)
    server.assert_shared()
    before = server.params.clone()
    signs = torch.ones(len(before))
    signs[1::2] = -1.0
    grad = torch.linspace(0.1, 1.0, len(before)) * signs
    server.push(grad, 80)
    # Adam's first step moves every weight by lr against its gradient's sign (where it is not 0).
    moved = before - server.params
    assert torch.allclose(moved, 1e-3 * grad.sign(), atol=1e-6)
    state = server.state()
    assert state["optimizer"]["steps"].tolist() == [1.0] and state["optimizer"]["updates"] == 1
    again = SharedParameterServer(cfg)
    again.load_state(state["model"], state["optimizer"], state["frames"], 1)
    assert torch.equal(again.params, server.params)
    assert isinstance(again.optimizer, SharedAdam)
    assert torch.equal(again.optimizer.exp_avg_sq, server.optimizer.exp_avg_sq)
    with pytest.raises(ValueError, match="exp_avg"):
        again.optimizer.load_state_dict({"square_avg": torch.zeros(len(before))})
    assert SharedAdam.check_state({**state["optimizer"], "steps": torch.zeros(3)}, len(before))


def test_rmsprop_eps_on_a_summed_loss_is_n_squared_times_eps_on_the_mean() -> None:
    """Our loss sums its terms over an update's N samples; SB3's averages them. The same steps
    need ε and the starting mean square N² times larger on the sum (what the rms_eps docs and
    docs/experiments/rmsprop-epsilon.md rely on), and ε left as it is damps the sum far less."""
    from a3c.losses import a3c_loss

    torch.manual_seed(0)
    n, features, actions = 80, 6, 4
    head = torch.randn(features, actions + 1) * 0.1

    def gradient(weights: torch.Tensor, divide_by: float) -> torch.Tensor:
        weights = weights.clone().requires_grad_(True)
        out = torch.randn(n, features, generator=torch.Generator().manual_seed(1)) @ weights
        returns = torch.linspace(-1.0, 1.0, n)
        chosen = torch.arange(n) % actions
        loss, _ = a3c_loss(out[:, :actions], out[:, actions], chosen, returns, 0.01, 0.25, "sum")
        (loss / divide_by).backward()
        assert weights.grad is not None
        return weights.grad.flatten()

    def train(eps: float, init: float, divide_by: float) -> torch.Tensor:
        weights = head.clone()
        square_avg = torch.full((weights.numel(),), init)
        for _ in range(20):
            grad = gradient(weights, divide_by)
            rmsprop_step_(weights.view(-1), grad, square_avg, 7e-4, 0.99, eps, True)
        return weights

    mean = train(eps=1e-5, init=1.0, divide_by=n)  # SB3's A2C
    scaled_sum = train(eps=1e-5 * n**2, init=1.0 * n**2, divide_by=1.0)
    naive_sum = train(eps=1e-5, init=1.0, divide_by=1.0)
    assert torch.allclose(scaled_sum, mean, atol=1e-6)
    assert (naive_sum - head).abs().sum() > 2 * (mean - head).abs().sum()
