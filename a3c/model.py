"""The actor-critic network: the seed's shared trunk with a softmax policy head and a value head."""

from __future__ import annotations

import torch
from torch import nn


class ActorCritic(nn.Module):
    """Shared trunk, policy logits head and value head.

    'atari' trunk (the seed's): input (B, 4, 84, 84) uint8 → conv 16×8×8/4, ReLU → conv 32×4×4/2,
    ReLU → flatten (2592) → dense 256, ReLU. 'mlp' trunk: (B, D) float → 2 × dense 64, tanh.
    """

    def __init__(self, obs_shape: tuple[int, ...], n_actions: int, torso: str = "atari") -> None:
        super().__init__()
        self.obs_shape = tuple(obs_shape)
        self.n_actions = n_actions
        self.torso = torso
        if torso == "atari":
            channels = obs_shape[0]
            self.trunk: nn.Module = nn.Sequential(
                nn.Conv2d(channels, 16, kernel_size=8, stride=4),
                nn.ReLU(),
                nn.Conv2d(16, 32, kernel_size=4, stride=2),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(32 * 9 * 9, 256),
                nn.ReLU(),
            )
            hidden = 256
        elif torso == "mlp":
            hidden = 64
            self.trunk = nn.Sequential(
                nn.Linear(obs_shape[0], hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
            )
        else:
            raise ValueError(f"unknown torso {torso!r}")
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases: Keras' defaults, as the seed's network had."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                assert module.bias is not None
                nn.init.zeros_(module.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs: (B, *obs_shape), uint8 pixels or floats. Returns logits (B, A), values (B,)."""
        x = obs.float() / 255.0 if obs.dtype == torch.uint8 else obs
        h = self.trunk(x)
        return self.policy(h), self.value(h).squeeze(-1)


def parameter_table(model: nn.Module) -> list[tuple[str, int]]:
    """(layer name, parameter count) for every layer with parameters, in order."""
    rows = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if own:
            rows.append((name, sum(p.numel() for p in own)))
    return rows
