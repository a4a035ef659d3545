"""The `atari` preset keeps Pong's and Breakout's layers alive: the tests that would have caught
their deaths.

Pong's screen is nearly one grey level. With RMSprop's normalised steps on raw pixels, every
weight of a first-layer filter moved the same way at every update, and within a few hundred
updates (about 16-30k frames) 12 to 16 of the 16 filters answered 0 to every screen: the
network was blind and Pong stayed random for millions of frames. On that preset
(`pixel_input = "scale"`) this test fails: checked by hand, 14 of 16 filters dead at 150k
frames. With centred input, and with today's background input, it passes.

Centring each screen by its mean then killed Breakout's second convolution: Breakout's field is
black, so centring made it a uniform negative input, and the same normalised steps drove the
second layer's filters below zero within a few hundred thousand frames. With the most common
level subtracted (`pixel_input = "background"`) both games' fields enter as 0.
"""

import csv
from pathlib import Path

import pytest

from a3c.checkpoint import list_checkpoints, load_network
from a3c.config import make_config
from a3c.health import collect_screens, measure_health
from a3c.trainer import Trainer

# With centred input this seed's Breakout run had 25 of 32 second-layer filters dead by 216k
# frames (docs/experiments/background-input.md); this test's own run, by hand: 20 of 32 dead
# at 300k frames with centred input (the test fails), 1 of 32 with the background subtracted.
SEED_BREAKOUT = 2
FRAMES_BREAKOUT = 300_000


@pytest.mark.slow
def test_atari_preset_keeps_pongs_first_layer_alive(tmp_path: Path) -> None:
    cfg = make_config(
        "atari",
        overrides={"env_id": "ALE/Pong-v5", "seed": 1, "frames": 150_000},
    )
    summary = Trainer(cfg, tmp_path / "run").run(time_limit_s=240)
    assert summary.frames >= 150_000
    model, _, _ = load_network(list_checkpoints(tmp_path / "run" / "checkpoints")[-1])
    health = measure_health(model, collect_screens(cfg))
    dead = health.layers[0].dead
    assert dead <= 8, f"{dead} of 16 first-layer filters dead after {summary.frames} frames"
    assert not health.blind and summary.health_warning is None
    # The run measured itself as it went: its last health row agrees.
    with open(tmp_path / "run" / "train.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["dead_conv1"]]
    assert len(rows) >= 1 and float(rows[-1]["dead_conv1"]) <= 0.5


@pytest.mark.slow
def test_atari_preset_keeps_breakouts_second_layer_alive(tmp_path: Path) -> None:
    cfg = make_config(
        "atari",
        overrides={"env_id": "ALE/Breakout-v5", "seed": SEED_BREAKOUT, "frames": FRAMES_BREAKOUT},
    )
    summary = Trainer(cfg, tmp_path / "run").run(time_limit_s=240)
    assert summary.frames >= FRAMES_BREAKOUT
    model, _, _ = load_network(list_checkpoints(tmp_path / "run" / "checkpoints")[-1])
    health = measure_health(model, collect_screens(cfg))
    conv2 = health.layers[1]
    assert conv2.name == "conv2"
    assert conv2.dead <= conv2.units // 2, (
        f"{conv2.dead} of {conv2.units} second-layer filters dead"
    )
    # The dense layer may pass the warning mark for a moment early on (it did at ~180k frames in
    # hour-long runs, and came back): what this test guards is the convolutions.
    assert not health.blind
    assert "convolution" not in (summary.health_warning or "")
