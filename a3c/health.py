"""Network health: does the network still see the screen?

A ReLU unit whose output is 0 on every input gets no gradient and never comes back. When every
filter of a layer is dead, the policy and the value are the same on every screen: the network is
blind, can only learn an average, and no later update can revive it. On Pong's nearly uniform
background this happens within a few hundred updates with some optimizers, silently: the run goes
on for hours at random play. This module measures it on a fixed set of real screens of the run's
own game: the share of dead units in each trunk layer, and how much the policy's logits and the
value vary across the screens. Training runs measure it at their start and every
`health_interval_s`; `a3c diagnose` measures saved checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from a3c.config import Config
from a3c.losses import entropy
from a3c.model import ActorCritic

SCREEN_SEED = 12_345
"""Seed of the random play that collects the screens: every run of a game is measured on the
same screens, so runs can be compared (training seeds are at least 1000 plus the base seed)."""

SCREEN_STEPS = 600
"""Random agent steps played to collect screens; every third screen is kept (200 screens)."""

DEAD_WARN_SHARE = 0.85
"""A layer with at least this share of dead units is reported: 14 of 16 filters. On Pong's
screens, which differ little, an untrained network has up to a fifth of its first-layer filters
and half of its dense units dead, and PFRL's settings, which learn Pong, keep about 80% of the
dense units dead."""

BLIND_SPREAD = 1e-6
"""Below this spread across screens the policy (or value) does not depend on the screen."""

HEALTH_FIELDS = ("dead_conv1", "dead_conv2", "dead_dense", "logit_spread", "value_spread")
"""The health columns of train.csv: dead shares of the `atari` trunk's layers (0-1; empty for
the `mlp` trunk, which has no ReLU) and the spreads."""

_ORDINALS = ("first", "second", "third", "fourth", "fifth")


@dataclass(frozen=True)
class LayerHealth:
    """One ReLU layer of the trunk: how many of its units are 0 on every screen."""

    name: str  # "conv1", "conv2", "dense": the column name's suffix
    label: str  # "first convolution": for messages
    unit: str  # "filters" or "units"
    dead: int
    units: int

    @property
    def dead_share(self) -> float:
        return self.dead / self.units


@dataclass(frozen=True)
class Health:
    """The health of a network on a set of screens."""

    layers: tuple[LayerHealth, ...]
    logit_spread: float  # standard deviation across screens of each logit, averaged over actions
    value_spread: float  # standard deviation across screens of the value
    value_mean: float
    entropy: float  # mean policy entropy per screen (nats)
    first_filter_weight_sums: tuple[float, ...]  # a filter's answer to a uniform screen ∝ its sum

    @property
    def blind(self) -> bool:
        """The policy and the value are the same on every screen: the network cannot see."""
        return self.logit_spread < BLIND_SPREAD and self.value_spread < BLIND_SPREAD

    def dead_layers(self, share: float = DEAD_WARN_SHARE) -> list[LayerHealth]:
        """The layers with at least `share` of their units dead."""
        return [layer for layer in self.layers if layer.dead_share >= share]

    def problems(self) -> dict[str, str]:
        """What is wrong, by key (a layer's name, or "blind"): {"conv1": "first convolution: 16
        of 16 filters dead", "blind": "the network cannot see"}; empty for a healthy network."""
        found = {
            x.name: f"{x.label}: {x.dead} of {x.units} {x.unit} dead" for x in self.dead_layers()
        }
        if self.blind:
            found["blind"] = "the network cannot see: policy and value are the same on every screen"
        return found

    def fields(self) -> dict[str, float]:
        """The figures as train.csv and TensorBoard take them (HEALTH_FIELDS' names)."""
        row = {f"dead_{layer.name}": round(layer.dead_share, 4) for layer in self.layers}
        row["logit_spread"] = round(self.logit_spread, 6)
        row["value_spread"] = round(self.value_spread, 6)
        return row

    def summary(self) -> str:
        """One line: dead units per layer, spreads."""
        dead = ", ".join(f"{x.name} {x.dead}/{x.units} dead" for x in self.layers) or "no ReLU"
        return (
            f"{dead}; logit spread {self.logit_spread:.4f}, value spread {self.value_spread:.4f}"
            f" (mean {self.value_mean:.2f}), entropy {self.entropy:.3f}"
        )


def collect_screens(
    cfg: Config, steps: int = SCREEN_STEPS, seed: int = SCREEN_SEED
) -> torch.Tensor:
    """Every third observation of `steps` uniformly random actions in cfg's own game (its whole
    environment stack). Returns (steps // 3, *obs_shape), uint8 for pixels."""
    from a3c.envs import make_vec_env

    env = make_vec_env(cfg, [seed])
    try:
        env.reset()
        n_actions = env.n_actions
        rng = np.random.default_rng(seed)
        kept: list[np.ndarray] = []
        for i in range(steps):
            step = env.step(rng.integers(0, n_actions, size=1))
            if i % 3 == 0:
                kept.append(step.obs[0].copy())
    finally:
        env.close()
    return torch.from_numpy(np.stack(kept))


def _layer_names(trunk: nn.Module) -> dict[int, tuple[str, str, str]]:
    """Index of each ReLU in the trunk -> (name, label, unit) of the layer it follows."""
    names: dict[int, tuple[str, str, str]] = {}
    convs = denses = 0
    last: tuple[str, str, str] | None = None
    for index, layer in enumerate(trunk.children()):
        if isinstance(layer, nn.Conv2d):
            convs += 1
            last = (f"conv{convs}", f"{_ORDINALS[convs - 1]} convolution", "filters")
        elif isinstance(layer, nn.Linear):
            denses += 1
            suffix = "" if denses == 1 else str(denses)
            last = (f"dense{suffix}", f"dense layer{' ' + suffix if suffix else ''}", "units")
        elif isinstance(layer, nn.ReLU) and last is not None:
            names[index] = last
    return names


@torch.no_grad()
def measure_health(model: ActorCritic, screens: torch.Tensor) -> Health:
    """Dead units per ReLU layer of the trunk and the spread of the outputs over `screens`
    (N, *obs_shape). A unit (a convolution's filter: its channel) is dead if it is 0 at every
    position of every screen. A recurrent policy is read from its initial state."""
    x = model.prepare(screens).float()
    names = _layer_names(model.trunk)
    layers = []
    for index, layer in enumerate(model.trunk.children()):
        x = layer(x)
        if index in names:
            units = x.transpose(0, 1).reshape(x.shape[1], -1)  # (units, screens × positions)
            name, label, unit = names[index]
            dead = int((units.amax(dim=1) <= 0).sum())
            layers.append(LayerHealth(name, label, unit, dead, units.shape[0]))
    x, _ = model.core(x.unsqueeze(0), model.initial_state(x.shape[0]), None)  # (N, H)
    logits, values = model.policy(x), model.value(x).squeeze(1)
    log_probs = torch.log_softmax(logits, dim=1)
    first = next(m for m in model.trunk.children() if isinstance(m, nn.Conv2d | nn.Linear))
    sums = first.weight.sum(dim=tuple(range(1, first.weight.dim())))
    spread = (lambda t: float(t.std(dim=0).mean())) if len(screens) > 1 else (lambda t: 0.0)
    return Health(
        layers=tuple(layers),
        logit_spread=spread(logits),
        value_spread=spread(values),
        value_mean=float(values.mean()),
        entropy=float(entropy(log_probs)) / len(log_probs),
        first_filter_weight_sums=tuple(round(float(s), 4) for s in sums),
    )


def format_frames(frames: int) -> str:
    """45000 -> '45k', 12300000 -> '12.3M'."""
    if frames >= 1_000_000:
        return f"{frames / 1e6:.1f}M".replace(".0M", "M")
    if frames >= 1000:
        return f"{frames / 1e3:.0f}k"
    return str(frames)


class HealthWatch:
    """Follows a run's health measurements and says, in one line, what is wrong and since when."""

    def __init__(self) -> None:
        self.since: dict[str, int] = {}  # problem -> frames at the first measurement showing it

    def update(self, frames: int, health: Health) -> str | None:
        """Record a measurement taken at `frames`; returns the warning line, or None if healthy."""
        problems = health.problems()
        self._track(frames, problems)
        if not problems:
            return None
        parts = [
            f"{text} since {format_frames(self.since[k])} frames" for k, text in problems.items()
        ]
        if health.blind and len(parts) > 1:  # a dead layer says since when: say what it means
            parts[-1] = "the network cannot see"
        return "warning: " + "; ".join(parts)

    def resume(self, rows: list[dict[str, str]]) -> None:
        """Replay the health rows a resumed run kept (train.csv), so that "since" goes back
        to when a problem began, not to the resume."""
        for row in rows:
            if not row.get("logit_spread"):
                continue  # a training row, or a file from before health was measured
            keys = [
                key
                for key in ("conv1", "conv2", "dense")
                if row.get(f"dead_{key}") and float(row[f"dead_{key}"]) >= DEAD_WARN_SHARE
            ]
            spreads = float(row["logit_spread"]), float(row["value_spread"])
            if max(spreads) < BLIND_SPREAD:
                keys.append("blind")
            self._track(int(float(row["frames"])), dict.fromkeys(keys, ""))

    def _track(self, frames: int, problems: dict[str, str]) -> None:
        self.since = {key: self.since.get(key, frames) for key in problems}
