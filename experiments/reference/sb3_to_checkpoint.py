"""An SB3 A2C model saved by sb3_a2c_curve.py, written as a checkpoint of ours, so that
`a3c diagnose` and `a3c evaluate` measure the reference's network exactly as they measure ours.

Runs in our venv (it reads the zip's `policy.pth` with torch alone, SB3 is not needed):

    .venv/bin/python experiments/reference/sb3_to_checkpoint.py \\
        runs/sb3-a2c-pong-s1/sb3-a2c-latest.zip --like runs/ours/checkpoints/ckpt_….pt \\
        -o runs/sb3-a2c-pong-s1/checkpoints
    .venv/bin/a3c diagnose runs/sb3-a2c-pong-s1/checkpoints/ckpt_<frames>.pt

`--like` is a checkpoint of ours trained with the same screens and action set (for Pong:
`--pixel-input scale`, the game's minimal actions): its config, which says how screens reach
the network, is kept and its weights are replaced. SB3's trunk is `OurTrunk` of
sb3_a2c_curve.py, so its layers map one to one onto ours.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import zipfile
from pathlib import Path

import torch

from a3c.checkpoint import load_checkpoint, load_network, save_checkpoint

FRAME_SKIP = 4
RENAME = {"features_extractor.trunk.": "trunk.", "action_net.": "policy.", "value_net.": "value."}


def sb3_weights(archive: Path) -> tuple[dict[str, torch.Tensor], int]:
    """Our state dict from an SB3 A2C zip, and the emulator frames it was trained for."""
    with zipfile.ZipFile(archive) as zipped:
        policy = torch.load(io.BytesIO(zipped.read("policy.pth")), weights_only=True)
        steps = int(json.loads(zipped.read("data"))["num_timesteps"])
    ours = {}
    for key, tensor in policy.items():
        for theirs, mine in RENAME.items():
            if key.startswith(theirs):
                ours[mine + key[len(theirs) :]] = tensor
    return ours, steps * FRAME_SKIP


def games_played(archive: Path, frames: int) -> int:
    """Games in the episodes.csv beside the archive up to `frames` (0 if there is none)."""
    log = archive.parent / "episodes.csv"
    if not log.exists():
        return 0
    with log.open() as fh:
        return sum(int(row["frames"]) <= frames for row in csv.DictReader(fh))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="an SB3 A2C zip from sb3_a2c_curve.py")
    parser.add_argument("--like", type=Path, required=True, help="a checkpoint of ours")
    parser.add_argument("-o", "--out", type=Path, required=True, help="directory to write to")
    args = parser.parse_args()
    weights, frames = sb3_weights(args.archive)
    state = load_checkpoint(args.like)
    state = {key: state[key] for key in ("config", "n_actions", "obs_shape")}
    episodes = games_played(args.archive, frames)
    state.update(model=weights, frames=frames, episodes=episodes, trainer="stable-baselines3 A2C")
    path = save_checkpoint(args.out, state, keep=1_000)
    load_network(path)  # fails loudly if a layer did not map
    print(path)


if __name__ == "__main__":
    main()
