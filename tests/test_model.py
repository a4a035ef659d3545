"""The network against the seed's tables."""

import pytest
import torch

from a3c.model import ActorCritic, parameter_table
from tests.helpers import trunk_weights


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


def test_orthogonal_init_starts_uniform_and_keeps_glorot_as_default() -> None:
    torch.manual_seed(0)
    obs = torch.randint(0, 256, (64, 4, 84, 84), dtype=torch.uint8)
    glorot = ActorCritic((4, 84, 84), 6)
    ortho = ActorCritic((4, 84, 84), 6, init="orthogonal")
    # The policy head's gain 0.01 makes the first policy uniform to within a hundredth.
    probs = torch.softmax(ortho.step(obs)[0], 1)
    assert (probs - 1 / 6).abs().max() < 0.01
    glorot_probs = torch.softmax(glorot.step(obs)[0], 1)
    assert (glorot_probs - 1 / 6).abs().max() > 0.01  # the default is still Keras' Glorot
    # Trunk layers are orthogonal with gain sqrt(2): W W^T = 2 I over the smaller dimension.
    dense = trunk_weights(ortho, 5)[0]  # (256, 2592)
    assert torch.allclose(dense @ dense.T, 2 * torch.eye(256), atol=1e-4)
    value = ortho.value.weight  # (1, 256): a unit row
    assert torch.allclose(value.norm(), torch.tensor(1.0), atol=1e-5)
    assert all(not m.bias.detach().any() for m in (ortho.policy, ortho.value))


def test_unknown_init_is_refused() -> None:
    with pytest.raises(ValueError, match="init"):
        ActorCritic((4, 84, 84), 3, init="he")  # type: ignore[arg-type]


def test_the_config_chooses_the_initialisation() -> None:
    from a3c.config import make_config
    from a3c.model import build_model

    ortho = build_model(make_config("atari", overrides={"env_id": "Pong", "init": "orthogonal"}))
    rows = ortho.policy.weight.detach().norm(dim=1)  # (6,): orthonormal rows times the gain
    assert torch.allclose(rows, torch.full((6,), 0.01), atol=1e-6)
    glorot = build_model(make_config("atari", overrides={"env_id": "Pong"}))
    assert glorot.policy.weight.detach().norm(dim=1).min() > 0.1


def test_torch_init_is_pytorchs_own_with_random_biases() -> None:
    torch.manual_seed(0)
    model = ActorCritic((4, 84, 84), 6, init="torch")
    value = (model.value.weight, model.value.bias)
    for (weight, bias), fan_in in (
        (trunk_weights(model, 0), 256),
        (trunk_weights(model, 5), 2592),
        (value, 256),
    ):
        bound = fan_in**-0.5
        weight, bias = weight.detach(), bias.detach()
        assert weight.abs().max() <= bound and bias.abs().max() <= bound
        assert weight.abs().max() > 0.9 * bound  # the whole range is used
    assert trunk_weights(model, 0)[1].detach().count_nonzero() == 16


def test_centred_input_takes_each_screens_mean_out() -> None:
    from a3c.config import make_config
    from a3c.model import build_model

    scaled = ActorCritic((4, 84, 84), 3)
    centred = ActorCritic((4, 84, 84), 3, pixel_input="centre")
    centred.load_state_dict(scaled.state_dict())  # the same weights: only the input differs
    uniform = torch.full((2, 4, 84, 84), 87, dtype=torch.uint8)  # Pong's background grey
    assert centred.prepare(uniform).abs().max() < 1e-6
    assert torch.allclose(scaled.prepare(uniform), torch.full((2, 4, 84, 84), 87 / 255))
    obs = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    x = centred.prepare(obs)
    assert torch.allclose(x.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-6)
    means = obs.float().mean(dim=(1, 2, 3), keepdim=True) / 255
    assert torch.allclose(x + means, obs / 255, atol=1e-6)
    # The network sees the centred input; a float (vector) observation is left as it is.
    assert torch.allclose(centred.step(obs)[0], scaled.step(x)[0], atol=1e-5)
    cfg = make_config("atari", overrides={"env_id": "Pong", "pixel_input": "centre"})
    assert build_model(cfg).pixel_input == "centre"
    with pytest.raises(ValueError, match="pixel_input"):
        ActorCritic((4, 84, 84), 3, pixel_input="whiten")  # type: ignore[arg-type]


def test_background_input_takes_each_screens_most_common_level_out() -> None:
    from a3c.model import background_level

    scaled = ActorCritic((4, 84, 84), 3)
    background = ActorCritic((4, 84, 84), 3, pixel_input="background")
    background.load_state_dict(scaled.state_dict())
    # Pong-like: a grey field (87) with a few white and dark objects; Breakout-like: black (0)
    # under coloured rows; ties go to the darker level.
    pong = torch.full((4, 84, 84), 87, dtype=torch.uint8)
    pong[:, 10:14, :] = 236
    pong[:, 40:50, 5:7] = 147
    breakout = torch.zeros((4, 84, 84), dtype=torch.uint8)
    breakout[:, 20:30, :] = 180
    tie = torch.zeros((4, 84, 84), dtype=torch.uint8)
    tie[:, :, 42:] = 200
    obs = torch.stack([pong, breakout, tie])
    assert background_level(obs).tolist() == [87.0, 0.0, 0.0]
    x = background.prepare(obs)
    assert torch.allclose(x[0], (pong.float() - 87) / 255)
    assert x[0][pong == 87].abs().max() == 0  # the field itself enters as exactly 0
    assert torch.equal(x[1:], scaled.prepare(obs[1:]))  # a black background changes nothing
    # The level comes from the newest frame of the stack; a vector of pixels is read whole.
    older = pong.clone()
    older[:3] = 236
    assert background_level(older.unsqueeze(0)).tolist() == [87.0]
    flat = torch.tensor([[5, 5, 9], [1, 9, 9]], dtype=torch.uint8)
    assert background_level(flat).tolist() == [5.0, 9.0]
    for wrong in (pong.float().unsqueeze(0), pong):  # float pixels; a stack without its batch
        with pytest.raises(ValueError, match="background_level wants uint8"):
            background_level(wrong)
    assert torch.allclose(background.step(obs)[0], scaled.step(x)[0], atol=1e-5)
    from a3c.config import make_config
    from a3c.model import build_model

    assert (
        build_model(make_config("atari", overrides={"env_id": "Pong"})).pixel_input == "background"
    )


def test_the_seed_decides_the_initial_weights() -> None:
    from a3c.config import make_config
    from a3c.model import build_model

    def weights(seed: int) -> torch.Tensor:
        cfg = make_config("atari", overrides={"env_id": "Pong", "seed": seed})
        return torch.cat([p.detach().reshape(-1) for p in build_model(cfg).parameters()])

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(weights(1), weights(1))
    assert torch.equal(torch.rand(1), before)  # the caller's random stream is untouched
    assert not torch.equal(weights(1), weights(2))
