"""Does a checkpoint's network still see the screen? Dead units and output spread over real states.

A network whose trunk has died (every ReLU of a layer at 0 for every input) gives the same
policy and value in every state: it can only learn an average, and the policy gradient cannot
reach the convolutions to revive it. For each checkpoint this plays `--steps` random actions in
its own training game (our environment stack, one game), feeds every third screen through the
network and prints, per trunk layer, the share of units that are 0 on every one of those
screens, and how much the policy's logits and the value vary across them (with `--json`, also
the sum of each first-layer filter's weights):

    .venv/bin/python benchmarks/collapse.py runs/pong/checkpoints/*.pt [--json]

A healthy network has logits and values that vary with the screen (a spread above about 0.01);
a collapsed one has a spread of 0 and a dead layer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from a3c.checkpoint import checkpoint_frames, load_network
from a3c.config import Config, make_config
from a3c.envs import make_vec_env
from a3c.losses import entropy
from a3c.model import ActorCritic, build_model


def screens(model: ActorCritic, cfg: Config, steps: int, seed: int) -> torch.Tensor:
    """Every third observation (N, 4, 84, 84) of `steps` random actions in cfg's game."""
    if cfg.torso != "atari" or cfg.policy != "ff":
        raise SystemExit(f"{cfg.env_id}: only the feed-forward Atari network is diagnosed")
    env = make_vec_env(cfg, [seed])
    env.reset()
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    for i in range(steps):
        step = env.step(rng.integers(0, model.n_actions, size=1))
        if i % 3 == 0:
            kept.append(step.obs[0].copy())
    env.close()
    return torch.from_numpy(np.stack(kept))


def diagnose(model: ActorCritic, obs: torch.Tensor) -> dict[str, Any]:
    """Dead-unit shares per ReLU of the trunk and the spread of logits and values over `obs`."""
    dead: dict[str, float] = {}
    x = obs.float() / 255.0
    with torch.no_grad():
        for index, layer in enumerate(model.trunk):
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                units = x.transpose(0, 1).reshape(x.shape[1], -1) if x.dim() == 4 else x.T
                dead[f"relu{index}"] = round(float((units.amax(dim=1) == 0).float().mean()), 3)
        logits, values = model.policy(x), model.value(x).squeeze(1)
    log_probs = torch.log_softmax(logits, dim=1)
    first = model.trunk[0]
    # On a nearly uniform screen a first-layer filter answers in proportion to its weights' sum.
    sums = first.weight.detach().sum(dim=(1, 2, 3))
    return {
        "dead_share": dead,
        "first_filter_weight_sums": [round(float(w), 3) for w in sums],
        "first_weight_mean_abs": round(float(first.weight.detach().abs().mean()), 4),
        "first_bias_max_abs": round(float(first.bias.detach().abs().max()), 4),
        "logit_spread": round(float(logits.std(dim=0).mean()), 5),
        "value_spread": round(float(values.std()), 5),
        "value_mean": round(float(values.mean()), 4),
        "entropy": round(float(entropy(log_probs)) / len(log_probs), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument(
        "--untrained",
        metavar="ENV_ID",
        help="also diagnose freshly built `atari`-preset networks for this game (seeds 1-4)",
    )
    parser.add_argument("--steps", type=int, default=600, help="random steps played")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", action="store_true", help="one JSON object per checkpoint")
    args = parser.parse_args()
    cases: list[tuple[str, int | None, ActorCritic, Config]] = []
    if args.untrained:
        cfg = make_config("atari", overrides={"env_id": args.untrained})
        for seed in range(1, 5):
            torch.manual_seed(seed)
            cases.append((f"untrained seed {seed}", 0, build_model(cfg), cfg))
    for path in args.checkpoints:
        model, cfg, _ = load_network(path)
        cases.append((str(path), checkpoint_frames(path), model, cfg))
    for name, frames, model, cfg in cases:
        obs = screens(model, cfg, args.steps, args.seed)
        row = {"checkpoint": name, "frames": frames, **diagnose(model, obs)}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            dead = " ".join(f"{k} {v:.0%}" for k, v in row["dead_share"].items())
            print(
                f"{Path(name).name}: dead {dead} | logit spread {row['logit_spread']:.4f} | value "
                f"spread {row['value_spread']:.4f} (mean {row['value_mean']:.2f}) | entropy "
                f"{row['entropy']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
