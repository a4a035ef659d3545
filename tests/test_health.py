"""Network health: dead units and output spread, measured on known networks; the warning line;
`a3c diagnose` on saved checkpoints."""

import json
from pathlib import Path

import pytest
import torch

from a3c.cli import main
from a3c.config import make_config
from a3c.health import HealthWatch, collect_screens, format_frames, measure_health
from a3c.model import ActorCritic, build_model
from tests.helpers import trunk_weights

ROOT = Path(__file__).resolve().parent.parent


def _screens(n: int = 12, seed: int = 0) -> torch.Tensor:
    """Random pixel screens (n, 4, 84, 84) uint8, all different."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 4, 84, 84), generator=generator, dtype=torch.uint8)


def _net(seed: int = 0) -> ActorCritic:
    torch.manual_seed(seed)
    return ActorCritic((4, 84, 84), 6)


def test_a_fresh_network_sees_and_dead_filters_are_counted_exactly() -> None:
    model = _net()
    healthy = measure_health(model, _screens())
    assert [x.name for x in healthy.layers] == ["conv1", "conv2", "dense"]
    assert [x.units for x in healthy.layers] == [16, 32, 256]
    assert healthy.logit_spread > 1e-3 and healthy.value_spread > 1e-3
    assert not healthy.blind and healthy.problems() == {}
    # Filters 0-4 answer below zero everywhere (pixels are >= 0): exactly those five are dead.
    with torch.no_grad():
        weight, bias = trunk_weights(model, 0)
        weight[:5] = -weight[:5].abs()
        bias[:5] = -0.1
    health = measure_health(model, _screens())
    assert health.layers[0].dead == 5 and health.layers[0].dead_share == 5 / 16
    assert not health.blind  # 11 filters still see
    assert health.first_filter_weight_sums[0] < 0
    assert health.fields()["dead_conv1"] == round(5 / 16, 4)


def test_a_dead_first_layer_makes_the_network_blind_and_says_so() -> None:
    model = _net()
    with torch.no_grad():
        trunk_weights(model, 0)[1].fill_(-1000.0)
    health = measure_health(model, _screens())
    assert health.layers[0].dead == 16
    assert health.logit_spread == 0.0 and health.value_spread == 0.0 and health.blind
    problems = health.problems()
    assert problems["conv1"] == "first convolution: 16 of 16 filters dead"
    assert problems["conv2"] == "second convolution: 32 of 32 filters dead"  # no input left
    assert "blind" in problems


def test_dense_units_count_per_unit_not_per_screen() -> None:
    model = _net()
    with torch.no_grad():
        trunk_weights(model, 5)[1][:100] = -1000.0  # dense units 0-99 can never fire
    health = measure_health(model, _screens())
    assert health.layers[2].dead >= 100
    assert health.layers[2].dead < 256 and not health.blind


def test_the_warning_says_what_is_dead_since_when_and_what_it_means() -> None:
    model = _net()
    watch = HealthWatch()
    screens = _screens()
    assert watch.update(0, measure_health(model, screens)) is None
    with torch.no_grad():
        trunk_weights(model, 0)[1].fill_(-1000.0)
    blind = measure_health(model, screens)
    first = watch.update(45_000, blind)
    assert first is not None and first.startswith(
        "warning: first convolution: 16 of 16 filters dead since 45k frames; "
    )
    assert first.endswith("; the network cannot see")
    # Later measurements keep the first frames it was seen at; a recovery clears it.
    later = watch.update(1_200_000, blind)
    assert later is not None and "since 45k frames" in later and "1.2M" not in later
    with torch.no_grad():
        trunk_weights(model, 0)[1].zero_()
    assert watch.update(1_300_000, measure_health(model, screens)) is None
    assert watch.since == {}


def test_a_resumed_run_remembers_since_when_a_layer_is_dead() -> None:
    """The health rows a resumed run kept say when the problem began; a healthy row in between
    starts it anew."""
    rows = [
        {"frames": "0", "dead_conv1": "0.1", "logit_spread": "0.01", "value_spread": "0.01"},
        {"frames": "30000", "dead_conv1": "0.9", "logit_spread": "0.01", "value_spread": "0.01"},
        {"frames": "40000", "policy": "0.3"},  # a training row: no health figures
        {"frames": "45000", "dead_conv1": "1.0", "logit_spread": "0", "value_spread": "0"},
    ]
    watch = HealthWatch()
    watch.resume(rows)
    assert watch.since == {"conv1": 30_000, "blind": 45_000}
    model = _net()
    with torch.no_grad():
        trunk_weights(model, 0)[1].fill_(-1000.0)
    warning = watch.update(60_000, measure_health(model, _screens()))
    assert warning is not None and "16 of 16 filters dead since 30k frames" in warning
    watch.resume([{**rows[0], "frames": "70000"}])  # healthy again: nothing is remembered
    assert watch.since == {}


def test_frames_are_written_short() -> None:
    assert [format_frames(f) for f in (0, 999, 45_000, 12_300_000, 20_000_000)] == [
        "0",
        "999",
        "45k",
        "12.3M",
        "20M",
    ]


def test_recurrent_and_dense_networks_are_measured_too() -> None:
    lstm = ActorCritic((4, 84, 84), 4, policy="lstm")
    screens = _screens()
    health = measure_health(lstm, screens)
    assert len(health.layers) == 3 and not health.blind
    # Read through the LSTM from its initial state, as the policy acts at a game's start.
    with torch.no_grad():
        logits, _, _ = lstm.step(screens, lstm.initial_state(len(screens)))
    assert health.logit_spread == pytest.approx(float(logits.std(dim=0).mean()), rel=1e-5)
    mlp = ActorCritic((4,), 2, torso="mlp")  # tanh: no ReLU layer to die
    health = measure_health(mlp, torch.randn(10, 4))
    assert health.layers == () and not health.blind and health.fields()["logit_spread"] > 0


def test_screens_come_from_the_runs_own_game_and_are_the_same_every_time() -> None:
    cfg = make_config("atari", overrides={"env_id": "ALE/Pong-v5"})
    first, again = collect_screens(cfg, steps=30), collect_screens(cfg, steps=30)
    assert first.shape == (10, 4, 84, 84) and first.dtype == torch.uint8
    assert torch.equal(first, again)
    assert len({bytes(s.numpy()) for s in first}) > 1  # play moves on
    health = measure_health(build_model(cfg), first)
    assert health.layers[0].units == 16


def test_diagnose_names_a_dead_layer_and_passes_a_seeing_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped Breakout agent sees; a copy of it with its first layer killed by hand (as
    Pong's optimizer used to do) is named blind. Both are readable checkpoints: exit 0."""
    breakout = ROOT / "models/breakout-a3c-v5-150M.pt"
    data = torch.load(breakout, weights_only=True)
    data["model"]["trunk.0.bias"].fill_(-1000.0)
    blind = tmp_path / "blind.pt"
    torch.save(data, blind)
    with pytest.raises(SystemExit) as done:
        main(["diagnose", str(breakout), str(blind)])
    assert done.value.code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{breakout} (ALE/Breakout-v5, 150,000,418 frames): conv1 0/16 dead")
    assert out[1].startswith(f"{blind} (ALE/Breakout-v5") and "conv1 16/16 dead" in out[1]
    assert out[2] == "  warning: first convolution: 16 of 16 filters dead"
    assert out[-1] == (
        "  warning: the network cannot see: policy and value are the same on every screen"
    )

    with pytest.raises(SystemExit) as done:
        main(["diagnose", "--json", str(blind)])
    row = json.loads(capsys.readouterr().out)
    assert row["layers"]["conv1"] == {"dead": 16, "of": 16}
    assert row["problems"][0] == "first convolution: 16 of 16 filters dead"
    assert row["logit_spread"] == 0.0 and row["value_spread"] == 0.0


def test_diagnose_refuses_a_file_that_is_not_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(SystemExit) as done:
        main(["diagnose", str(bad)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("a3c: error: ") and str(bad) in err[0]


@pytest.mark.slow
def test_a_run_that_is_blind_says_so_while_it_trains(tmp_path: Path) -> None:
    """A resumed run whose first layer is dead (killed here by hand, as Pong's optimizer used to
    do) warns at its first measurement, in the progress output and in its summary, and records
    the dead layer in train.csv and TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from a3c.checkpoint import list_checkpoints
    from tests.helpers import run_a3c

    run = tmp_path / "run"
    common = ("--workers", "2", "--learners-per-process", "2", "--seed", "5")
    first = run_a3c("train", "--frames", "3000", "--run-dir", str(run), *common)
    assert first.returncode == 0, first.stderr
    assert "warning" not in first.stderr
    path = list_checkpoints(run / "checkpoints")[-1]
    data = torch.load(path, weights_only=True)
    data["model"]["trunk.0.bias"].fill_(-1000.0)
    torch.save(data, path)

    again = run_a3c("train", "--resume", str(run), "--frames", "6000", *common)
    assert again.returncode == 0, again.stderr
    frames = format_frames(int(data["frames"]))
    warning = f"warning: first convolution: 16 of 16 filters dead since {frames} frames"
    assert f"a3c: {warning}" in again.stderr  # the progress output, when it is first seen
    assert "the network cannot see" in again.stderr
    assert f"a3c: {warning}" in again.stdout  # and once more in the summary
    rows = (run / "train.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = [r.split(",")[header.index("dead_conv1")] for r in rows[1:]]
    dead = [float(d) for d in cells if d]  # health rows only
    assert dead[-1] == 1.0 and dead[0] < 1.0  # the first run's own measurement saw
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    assert events.Scalars("health/dead_conv1")[-1].value == 1.0


def test_the_progress_output_shows_a_warning_at_once_and_repeats_it_rarely(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import a3c.cli.output as output
    from a3c.trainer import Progress

    now = [1000.0]
    monkeypatch.setattr(output.time, "monotonic", lambda: now[0])
    line = output.ProgressLine()

    def show(warning: str | None) -> list[str]:
        line(Progress(10, 100, 1.0, 0, None, 1.0, warning))
        return [w for w in capsys.readouterr().err.splitlines() if "warning" in w]

    assert show(None) == []
    assert show("warning: first convolution: 14 of 16 filters dead since 16k frames") == [
        "a3c: warning: first convolution: 14 of 16 filters dead since 16k frames"
    ]
    now[0] += 60  # a layer loses one more filter a minute later: not a new line yet
    assert show("warning: first convolution: 15 of 16 filters dead since 16k frames") == []
    now[0] += 600
    assert show("warning: first convolution: 15 of 16 filters dead since 16k frames") == [
        "a3c: warning: first convolution: 15 of 16 filters dead since 16k frames"
    ]
