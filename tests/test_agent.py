"""The Agent API and evaluation through Gymnasium's own Atari pipeline (the `v5` preset's game)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from a3c import Agent
from a3c.agent import atari_action_map
from a3c.checkpoint import CheckpointError, list_checkpoints, load_network
from a3c.config import Config, make_config
from a3c.envs import make_vec_env
from a3c.evaluate import evaluate_gymnasium, make_gymnasium_atari
from a3c.learner import sample_actions
from a3c.trainer import Trainer
from tests.helpers import call_a3c, run_a3c

pytestmark = pytest.mark.slow  # trains and plays whole games

TINY: dict[str, Any] = {"workers": 1, "learners_per_process": 1, "frames": 3000}


@pytest.fixture(scope="module")
def v5_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("v5") / "run"
    Trainer(make_config("v5", overrides=TINY), run, serial=True).run()
    return list_checkpoints(run / "checkpoints")[-1]


@pytest.fixture(scope="module")
def cartpole_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("cartpole") / "run"
    cfg = Config(env_id="CartPole-v1", torso="mlp", t_max=5, **{**TINY, "frames": 300})
    Trainer(cfg, run, serial=True).run()
    return list_checkpoints(run / "checkpoints")[-1]


@pytest.mark.parametrize("noop_frames", [0, 1])
def test_v5_preset_sees_the_pixels_gymnasium_gives(noop_frames: int) -> None:
    # Same actions, no sticky actions, the same no-op frames at the start (0, or 1: Gymnasium
    # draws 1 to noop_max): our v5 stack and Gymnasium's wrappers give identical observations at
    # every step of a whole game, and end it at the same step. One no-op frame shifts the agent's
    # steps to another phase of the frame skip than training with agent-step no-ops ever saw.
    overrides = {"repeat_action_probability": 0.0}
    overrides |= {"start_steps_min": noop_frames, "start_steps_max": noop_frames}
    cfg = make_config("v5", overrides=overrides)
    assert cfg.start_unit == "frame"
    ours = make_vec_env(cfg, [5])
    theirs = make_gymnasium_atari(cfg, 0.0, 108_000, fire=False, noop_max=noop_frames)
    to_env = atari_action_map(cfg)
    assert to_env is not None and list(to_env) == [1, 2, 3]  # FIRE, RIGHT, LEFT in v5's set
    obs, _ = ours.reset()
    gym_obs, _ = theirs.reset(seed=3)
    assert np.array_equal(obs[0], np.asarray(gym_obs))
    rng = np.random.default_rng(0)
    for t in range(5000):
        action = int(rng.integers(0, 3))
        step = ours.step(np.array([action]))
        gym_obs, _, terminated, _, _ = theirs.step(int(to_env[action]))
        assert bool(step.terminals[0]) == terminated, t
        if terminated:
            break
        assert np.array_equal(step.obs[0], np.asarray(gym_obs)), f"step {t}"
    assert terminated and t > 100  # a whole game was compared, lost lives included
    theirs.close()


def test_agent_acts_on_gymnasium_observations_as_training_does(v5_checkpoint: Path) -> None:
    agent = Agent.load(v5_checkpoint, seed=7)
    model, cfg, _ = load_network(v5_checkpoint)
    envs = [make_gymnasium_atari(cfg, 0.25, 108_000, fire=False) for _ in range(3)]
    obs = np.stack([np.asarray(env.reset(seed=i)[0]) for i, env in enumerate(envs)])
    assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
    for _ in range(20):
        actions = agent.act(obs)
        assert actions.shape == (3,) and actions.dtype == np.int64
        assert all(envs[0].action_space.contains(int(a)) for a in actions)
        done = np.zeros(3, bool)
        for i, env in enumerate(envs):
            o, _, terminated, truncated, _ = env.step(int(actions[i]))
            obs[i] = o
            done[i] = terminated or truncated
        agent.reset(done)
    # Identical observations: the training network's choice, mapped to the env's action index.
    with torch.inference_mode():
        logits, _, _ = model.step(torch.from_numpy(obs))
    to_env = np.array([1, 2, 3])
    greedy = to_env[logits.argmax(dim=1).numpy()]
    assert np.array_equal(agent.act(obs, greedy=True), greedy)
    probs = torch.softmax(logits, dim=1).numpy()
    twin = Agent.load(v5_checkpoint, seed=11)
    expected = to_env[sample_actions(probs, np.random.default_rng(11))]
    assert np.array_equal(twin.act(obs), expected)
    # SB3's channels-last frame stacks give the same choice.
    assert np.array_equal(agent.act(obs.transpose(0, 2, 3, 1), greedy=True), greedy)
    full = Agent.load(v5_checkpoint, full_action_space=True)  # ALE's ids: FIRE 1, RIGHT 3, LEFT 4
    assert np.array_equal(full.act(obs, greedy=True), np.array([1, 3, 4])[greedy - 1])
    for env in envs:
        env.close()


def test_agent_refuses_what_it_cannot_act_on(v5_checkpoint: Path, tmp_path: Path) -> None:
    agent = Agent.load(v5_checkpoint)
    good = np.zeros((2, 4, 84, 84), np.uint8)
    with pytest.raises(ValueError, match="obs\\[None\\]"):
        agent.act(good[0])
    with pytest.raises(ValueError, match="uint8"):
        agent.act(good.astype(np.float32) / 255)
    agent.act(good)
    with pytest.raises(ValueError, match="keep the batch size"):
        agent.act(good[:1])
    with pytest.raises(ValueError, match="one flag per environment"):
        agent.reset(np.zeros(3, bool))
    agent.reset()
    assert agent.act(good[:1]).shape == (1,)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    before = foreign.read_bytes()
    with pytest.raises(CheckpointError, match="not an a3c checkpoint"):
        Agent.load(foreign)
    assert foreign.read_bytes() == before
    with pytest.raises(CheckpointError, match="does not exist"):
        Agent.load(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        Agent.load(tmp_path)  # a directory: its newest checkpoint, and it has none


def test_evaluate_gymnasium_pipeline_json(v5_checkpoint: Path) -> None:
    result = run_a3c(
        "evaluate", str(v5_checkpoint), "--pipeline", "gymnasium", "--episodes", "3",
        "--sample", "--json", "--max-frames", "20000",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    own = json.loads(
        run_a3c(
            "evaluate", str(v5_checkpoint), "--episodes", "1", "--json", "--max-frames", "20000"
        ).stdout
    )
    assert set(own) <= set(data)  # the own pipeline's fields, and more
    assert data["pipeline"] == "gymnasium" and own["pipeline"] == "own"
    protocol = data["protocol"]
    assert protocol["env"] == "ALE/Breakout-v5"
    assert protocol["repeat_action_probability"] == 0.25  # v5's default, unless --sticky
    assert protocol["frame_skip"] == 4 and protocol["frame_stack"] == 4
    assert protocol["max_episode_frames"] == 20_000 and protocol["policy"] == "sample"
    assert protocol["fire_on_reset_and_life_loss"] is False  # the v5 agent serves itself
    assert data["episodes"] == 3 and len(data["games"]) == 3
    assert all(1 <= g["noops"] <= 30 for g in data["games"])
    assert data["frames"] == sum(g["frames"] for g in data["games"])
    sticky = run_a3c(
        "evaluate", str(v5_checkpoint), "--pipeline", "gymnasium", "--episodes", "1",
        "--json", "--sticky", "0", "--max-frames", "20000",
    )  # fmt: skip
    assert json.loads(sticky.stdout)["protocol"]["repeat_action_probability"] == 0.0


def test_gymnasium_pipeline_plays_the_sticky_actions_it_reports(v5_checkpoint: Path) -> None:
    """Same seeds: without sticky actions the sampled games repeat exactly; with them they do not
    (an evaluation that only wrote --sticky into its JSON would repeat itself)."""

    def games(sticky: float) -> list[tuple[float, int]]:
        agent = Agent.load(v5_checkpoint, seed=3)
        result = evaluate_gymnasium(agent, 3, greedy=False, max_episode_frames=5_000, sticky=sticky)
        assert result["protocol"]["repeat_action_probability"] == sticky
        return [(g["score"], g["frames"]) for g in result["games"]]

    plain = games(0.0)
    assert games(0.0) == plain
    assert games(0.25) != plain


def test_gymnasium_pipeline_cap_stops_an_agent_that_never_serves(v5_checkpoint: Path) -> None:
    agent = Agent.load(v5_checkpoint)
    with torch.no_grad():  # always RIGHT: with no FIRE from anyone, the ball is never served
        agent.model.policy.weight.zero_()
        agent.model.policy.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    result = evaluate_gymnasium(agent, episodes=2, greedy=True, max_episode_frames=3000)
    assert result["truncated"] == 2 and result["max"] == 0
    assert all(2996 <= g["frames"] <= 3000 for g in result["games"])


def test_gymnasium_evaluation_plays_in_the_stack_it_is_given(v5_checkpoint: Path) -> None:
    # The agent of the test above, in stacks that press FIRE for it: every ball is served, so
    # its games end on lost lives instead of at the cap.
    agent = Agent.load(v5_checkpoint)
    with torch.no_grad():
        agent.model.policy.weight.zero_()
        agent.model.policy.bias.copy_(torch.tensor([0.0, 50.0, 0.0]))
    made = []

    def make() -> object:
        made.append(make_gymnasium_atari(agent.config, 0.25, 3000, fire=True))
        return made[-1]

    result = evaluate_gymnasium(agent, 2, greedy=True, max_episode_frames=3000, make_env=make)
    assert len(made) == 2 and len(result["games"]) == 2
    assert result["truncated"] == 0
    assert all(g["frames"] < 3000 for g in result["games"])


def test_gymnasium_pipeline_bad_input(v5_checkpoint: Path, cartpole_checkpoint: Path) -> None:
    unknown = call_a3c("evaluate", str(v5_checkpoint), "--pipeline", "envpool")
    assert unknown.returncode == 2
    assert "invalid choice: 'envpool'" in unknown.stderr.strip().splitlines()[-1]
    before = cartpole_checkpoint.read_bytes()
    cartpole = call_a3c("evaluate", str(cartpole_checkpoint), "--pipeline", "gymnasium")
    assert cartpole.returncode == 2
    lines = cartpole.stderr.strip().splitlines()
    assert len(lines) == 1 and "plays Atari games" in lines[0] and "'CartPole-v1'" in lines[0]
    assert cartpole_checkpoint.read_bytes() == before
    video = cartpole_checkpoint.parent / "cartpole.mp4"
    played = call_a3c("play", str(cartpole_checkpoint), "--video", str(video))
    lines = played.stderr.strip().splitlines()
    assert played.returncode == 2 and len(lines) == 1, played.stderr
    assert "play shows Atari games" in lines[0] and "'CartPole-v1'" in lines[0]
    assert not video.exists()
    nowhere = v5_checkpoint.parent / "no-such-dir" / "game.mp4"
    played = call_a3c("play", str(v5_checkpoint), "--video", str(nowhere))
    lines = played.stderr.strip().splitlines()
    assert played.returncode == 2 and len(lines) == 1, played.stderr
    assert "is not a writable directory" in lines[0] and not nowhere.parent.exists()
    # The agent API works for vector games too: (N, 4) observations, CartPole's own actions.
    agent = Agent.load(cartpole_checkpoint)
    actions = agent.act(np.zeros((5, 4), np.float32))
    assert actions.shape == (5,) and set(actions) <= {0, 1}


def test_v5_preset_validates_and_trains(v5_checkpoint: Path) -> None:
    _, cfg, ckpt = load_network(v5_checkpoint)
    assert cfg.preset == "v5" and cfg.repeat_action_probability == 0.25
    assert cfg.resize == "area" and not cfg.fire_on_life_loss
    assert ckpt["frames"] >= TINY["frames"] and ckpt["episodes"] >= 1


def test_the_readme_example_plays_the_shipped_breakout_agent_well() -> None:
    # The README's own-loop example, run as a user would copy it, from the repository root.
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## A trained agent in your own Gymnasium loop") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("\n```", start)]
    assert 'Agent.load("models/breakout-a3c-' in code and "ALE/Breakout-v5" in code
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    # One sampled game with sticky actions: the shipped agent's lowest of 100 such games was 27
    # (the `v5` agent's of 200, 30); random play scores about 1.5.
    assert float(done.stdout.strip()) >= 20
