"""The network against the seed's tables."""

import torch

from a3c.model import ActorCritic, parameter_table


def test_shapes() -> None:
    model = ActorCritic((4, 84, 84), 3)
    logits, values, state = model.step(torch.zeros(5, 4, 84, 84, dtype=torch.uint8))
    assert logits.shape == (5, 3) and values.shape == (5,) and state == ()
    logits, values, _ = model(torch.zeros(2, 5, 4, 84, 84, dtype=torch.uint8))  # (T, B, ...)
    assert logits.shape == (2, 5, 3) and values.shape == (2, 5)
    trunk = model.trunk
    x = torch.zeros(1, 4, 84, 84)
    assert trunk[0](x).shape == (1, 16, 20, 20)
    assert trunk[2](trunk[0](x)).shape == (1, 32, 9, 9)


def test_parameter_counts_match_the_seed() -> None:
    # The seed's tables: conv 4112, conv 8224, dense 663808 (printed as 663608, a typo:
    # 2592 * 256 + 256 = 663808), policy 771, value 257.
    model = ActorCritic((4, 84, 84), 3)
    counts = [n for _, n in parameter_table(model)]
    assert counts == [4112, 8224, 663808, 771, 257]
    assert sum(counts) == 677172


def test_policy_is_a_distribution_and_input_scaled() -> None:
    model = ActorCritic((4, 84, 84), 4)
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    logits, _, _ = model.step(obs)
    probs = torch.softmax(logits, 1)
    assert torch.allclose(probs.sum(1), torch.ones(2))
    # uint8 pixels are scaled to [0, 1]: the same as passing the float image / 255.
    logits_f, _, _ = model.step(obs.float() / 255.0)
    assert torch.allclose(logits, logits_f, atol=1e-5)
