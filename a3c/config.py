"""One typed configuration for a training run, its presets, and its single validation step."""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomllib

from a3c.games import SEED3_ACTIONS, GameInfo, UnknownGame, describe_game

ActionSet = Literal["seed3", "minimal"]
StartMode = Literal["fire", "noop"]
StartUnit = Literal["step", "frame"]
Reduction = Literal["sum", "mean"]
LrSchedule = Literal["constant", "linear"]
Torso = Literal["atari", "mlp"]
Policy = Literal["ff", "lstm"]
Precision = Literal["float32", "bfloat16"]
Init = Literal["glorot", "orthogonal", "torch"]
Resize = Literal["bilinear", "area"]
OptimizerName = Literal["rmsprop", "adam"]
PixelInput = Literal["scale", "centre", "background"]


class ConfigError(ValueError):
    """A value a user gave is invalid; the message names it and what would be valid."""


@dataclass(frozen=True)
class Config:
    """Everything that defines a run. Defaults reproduce the seed (Keras A3C on Breakout)."""

    preset: str = "seed"
    """Name of the preset these values started from (recorded for the run's provenance)."""
    env_id: str = "BreakoutDeterministic-v4"
    """Atari game (any Gymnasium Atari id naming it) or a vector-observation Gymnasium id."""
    workers: int = 8
    """Actor-learners: each acts in its own environments and pushes its own gradients."""
    envs_per_worker: int = 1
    """Environments per actor-learner; its rollout and gradient span all of them."""
    learners_per_process: int = 4
    """Actor-learners run in lockstep by one process, sharing one batched forward pass to act."""
    frames: int = 80_000_000
    """Training budget in emulator frames (agent steps × frame_skip), summed over learners."""
    seed: int = 0
    """Base seed; learner i uses seed + 1000 * (i + 1) so no two streams collide."""

    # Environment stack.
    frame_skip: int = 4
    """Emulator frames per agent step (the action repeats; max of the last two drops flicker)."""
    frame_history: int = 4
    """Frames stacked into one observation."""
    action_set: ActionSet = "seed3"
    """'seed3': stay/right/left mapped to FIRE/RIGHT/LEFT; 'minimal': the game's minimal set."""
    start_mode: StartMode = "fire"
    """What the random start steps are: FIRE (the seed) or NOOP (the paper)."""
    start_steps_min: int = 1
    """Fewest random start steps at the beginning of a game."""
    start_steps_max: int = 30
    """Most random start steps at the beginning of a game."""
    start_unit: StartUnit = "step"
    """What a start step is: an agent step of `frame_skip` frames (the seed's, the paper's) or
    one emulator frame (Gymnasium's AtariPreprocessing and SB3's NoopResetEnv), which starts
    games at every phase of the frame skip."""
    resize: Resize = "bilinear"
    """Downscaling to 84×84: 'bilinear' (DQN's, cheaper) or 'area' (Gymnasium's and SB3's)."""
    fire_on_life_loss: bool = True
    """Press FIRE (one agent step) after a lost life and restart the frame history."""
    terminal_on_life_loss: bool = False
    """Treat a lost life as the end of an episode for the n-step returns (games still run on)."""
    repeat_action_probability: float = 0.0
    """Sticky-action probability (0: deterministic, as BreakoutDeterministic-v4)."""
    reward_clip: float = 1.0
    """Rewards are clipped to [-reward_clip, reward_clip] for learning (0 disables)."""
    max_episode_frames: int = 108_000
    """A game is truncated after this many emulator frames (30 minutes of play)."""

    # Algorithm.
    torso: Torso = "atari"
    """'atari': the seed's two-conv network; 'mlp': a small dense torso for vector observations."""
    policy: Policy = "ff"
    """'ff': the seed's feed-forward network; 'lstm': 256 LSTM units after the trunk (the A3C
    paper's recurrent agent), its state carried across rollouts and reset when a game ends."""
    init: Init = "glorot"
    """Initial weights: 'glorot' (Keras' default, the seed's; zero biases), 'orthogonal' (gain
    sqrt(2) in the trunk, 0.01 on the policy head, 1 on the value head, zero biases: SB3's and
    CleanRL's) or 'torch' (PyTorch's own: weights and biases uniform in ±1/sqrt(fan_in), PFRL's)."""
    pixel_input: PixelInput = "scale"
    """How screens enter the network: 'scale', pixels ÷ 255 (the seed's); 'centre', ÷ 255 and then
    each observation's mean pixel subtracted, so that a uniform background is 0 and cannot push
    all of a first-layer filter's weights the same way; 'background', ÷ 255 and then each
    observation's most common pixel value (its background) subtracted: 0 on every game's
    background, including those that are black already, whose input it leaves unchanged."""
    t_max: int = 20
    """Agent steps per rollout before an update (fewer if the game ends)."""
    gamma: float = 0.99
    """Discount factor."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus."""
    value_coef: float = 1.0
    """Weight of the value loss."""
    value_loss_reduction: Reduction = "mean"
    """The seed averages the squared value error over the rollout; the paper sums it."""
    learn_precision: Precision = "float32"
    """Arithmetic of the learning pass: 'bfloat16' autocast is faster on CPUs with bf16 units."""
    max_grad_norm: float = 0.0
    """Clip the gradient's global norm to this (0 disables)."""
    optimizer: OptimizerName = "rmsprop"
    """The shared optimizer: 'rmsprop' (the A3C paper's shared RMSprop, the rms_* keys) or
    'adam' (shared Adam, as ikostrikov/pytorch-a3c; the adam_* keys)."""
    lr: float = 2.5e-4
    """Learning rate of the optimizer."""
    lr_schedule: LrSchedule = "constant"
    """'linear' anneals the learning rate to 0 over `frames`."""
    rms_alpha: float = 0.99
    """RMSprop decay of the squared-gradient average (Keras' rho)."""
    rms_eps: float = 0.01
    """RMSprop epsilon, on the scale of our loss, which sums every term over the update's N
    samples (t_max × envs per worker): ε on a loss averaged over them, as SB3's, is this / N².
    SB3's A2C (ε 1e-5, 16 × 5 samples) is 0.064 here (docs/experiments/rmsprop-epsilon.md)."""
    rms_eps_inside_sqrt: bool = False
    """True: divide by sqrt(v + eps) as TensorFlow and the paper; False: sqrt(v) + eps as Keras."""
    rms_init: float = 0.0
    """Starting value of RMSprop's mean square v: 0 as Keras and torch.optim; 1 as TensorFlow
    and SB3's RMSpropTFLike, whose first steps are then small and grow as v decays to the
    gradients' scale (with v = 0 and a small eps the first steps are ~10 × lr on every weight).
    Like rms_eps it is on our summed loss's scale: SB3's 1 is N² here."""
    adam_beta1: float = 0.9
    """Adam's decay of the gradient's running mean."""
    adam_beta2: float = 0.999
    """Adam's decay of the squared gradient's running mean."""
    adam_eps: float = 1e-8
    """Adam's epsilon, added to the root of the squared mean."""

    # Files and logging.
    checkpoint_interval_s: float = 600.0
    """Seconds between checkpoints (the seed saved every 10 minutes); one more at the end."""
    keep_checkpoints: int = 3
    """Most recent checkpoints kept on disk."""
    log_interval_s: float = 5.0
    """Seconds between loss/throughput records."""
    health_interval_s: float = 120.0
    """Seconds between measurements of the network's health (dead units per layer, how much the
    policy and value vary) on fixed screens of its game; the first is at the run's start."""
    max_learner_restarts: int = 3
    """Learner processes restarted after a crash within restart_window_s before the run stops."""
    restart_window_s: float = 600.0
    """Window in which learner crashes and skipped updates are counted."""
    max_skipped_updates: int = 100
    """Non-finite updates skipped within restart_window_s before the run stops."""

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (for files, TensorBoard and checkpoints)."""
        return dataclasses.asdict(self)


# The A3C paper's optimizer and loss: RMSprop as TensorFlow's, annealed, with clipping.
_PAPER_LEARNING: dict[str, Any] = {
    "lr": 7e-4,
    "lr_schedule": "linear",
    "rms_alpha": 0.99,
    "rms_eps": 0.1,
    "rms_eps_inside_sqrt": True,
    "value_coef": 0.5,
    "value_loss_reduction": "sum",
    "max_grad_norm": 40.0,
}

PRESETS: dict[str, dict[str, Any]] = {
    # The seed's system: Keras A3C on BreakoutDeterministic-v4 (the class defaults).
    "seed": {},
    # The A3C paper's Atari setup as its authors confirmed it (Mnih et al. 2016).
    "paper": {
        "workers": 16,
        "t_max": 5,
        "action_set": "minimal",
        "start_mode": "noop",
        "start_steps_min": 0,
        "start_steps_max": 30,
        **_PAPER_LEARNING,
    },
    # The field's standard protocol (ALE v5: sticky actions 0.25, whole games, no FIRE or
    # history restart from the environment) with Gymnasium's resize, so that scores hold in
    # Gymnasium's pipeline. t_max 20: in paired runs it learned faster per hour than t_max 5
    # (README, "Towards a v5 agent"); the optimizer and life-loss signal are the paper's.
    "v5": {
        "env_id": "ALE/Breakout-v5",
        "repeat_action_probability": 0.25,
        "resize": "area",
        "start_mode": "noop",
        # 1-30 no-op frames, as Gymnasium's AtariPreprocessing: an agent that only ever started
        # at one phase of the frame skip lost about a fifth of its score at the other three.
        "start_steps_min": 1,
        "start_steps_max": 30,
        "start_unit": "frame",
        "fire_on_life_loss": False,
        "terminal_on_life_loss": True,
        "t_max": 20,
        **_PAPER_LEARNING,
        "frames": 150_000_000,
    },
}
# Any Atari game under the standard protocol: `v5`, with an RMSprop whose steps are normalised
# (eps 1e-5 inside the root on our summed loss: 2.5e-8 on the loss averaged over the 20
# samples, where SB3's A2C has 1e-5; docs/experiments/rmsprop-epsilon.md) at a lower rate, and
# each screen's background level
# subtracted. Normalised steps move every weight by about lr whatever its gradient; on a uniform
# input every weight of a filter gets gradients of one sign, so the filters that see it are
# driven below zero together and die. On raw pixels that killed Pong's first convolution (its
# grey field; docs/experiments/first-layer-bisection.md); with each screen's mean subtracted
# instead, Breakout's black field became a uniform negative input and its second convolution
# died. With the most common level subtracted every game's background is 0 (Breakout's input
# is unchanged) and both games keep every layer (docs/experiments/background-input.md).
# `v5`'s lr 7e-4 learned Pong sooner but killed nearly all of the second convolution for its
# first million frames; 2.5e-4 kept every layer alive (docs/experiments/pong-learning-rate.md).
PRESETS["atari"] = {
    **PRESETS["v5"],
    "rms_eps": 1e-5,
    "lr": 2.5e-4,
    "pixel_input": "background",
    "frames": 20_000_000,
}

# One line per preset for `--help`: the choices and their meaning come from the same data.
PRESET_SUMMARIES: dict[str, str] = {
    "seed": "the seed's Keras A3C",
    "paper": "the A3C paper's Atari setup",
    "v5": "the standard protocol: ALE v5 sticky actions, Gymnasium's preprocessing",
    "atari": "v5 with a normalised RMSprop and the background subtracted, for any game",
}

_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_CHOICES: dict[str, tuple[str, ...]] = {
    "action_set": ("seed3", "minimal"),
    "start_mode": ("fire", "noop"),
    "start_unit": ("step", "frame"),
    "value_loss_reduction": ("sum", "mean"),
    "lr_schedule": ("constant", "linear"),
    "torso": ("atari", "mlp"),
    "policy": ("ff", "lstm"),
    "init": ("glorot", "orthogonal", "torch"),
    "pixel_input": ("scale", "centre", "background"),
    "optimizer": ("rmsprop", "adam"),
    "learn_precision": ("float32", "bfloat16"),
    "resize": ("bilinear", "area"),
}


@functools.cache
def field_docs() -> dict[str, str]:
    """Each Config field's docstring (the string under it in the class body), on one line."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Config)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def field_choices(name: str) -> tuple[str, ...] | None:
    """The values a field of a Literal type may take (None for other fields)."""
    return _CHOICES.get(name)


def _coerce(name: str, value: Any) -> Any:
    """Check one value's type against the field and convert ints to floats where floats are due."""
    kind = type(getattr(Config(), name))
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} = {value!r} must be true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} = {value!r} must be an integer")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} = {value!r} must be a number")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{name} = {value!r} must be a string")
    return value


def make_config(
    preset: str = "seed",
    file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Build a validated config: preset values, then a TOML file's, then explicit overrides.

    Raises ConfigError naming the first bad value.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    values: dict[str, Any] = {"preset": preset, **PRESETS[preset]}
    file_values = read_toml(file) if file is not None else {}
    values.update(file_values)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"unknown config key {unknown[0]!r}; valid keys: {', '.join(sorted(_FIELDS))}"
        )
    explicit = set(file_values) | {k for k, v in (overrides or {}).items() if v is not None}
    values = fit_to_game(values, explicit)
    cfg = Config(**{k: _coerce(k, v) for k, v in values.items()})
    validate(cfg)
    return cfg


def fit_to_game(values: dict[str, Any], explicit: set[str]) -> dict[str, Any]:
    """Adapt the game-dependent settings a user did not set to the game `values` name.

    The id decides sticky actions (see `a3c.games`); the seed's 3 actions stay only on a
    Breakout-like action set, else the game's minimal set; FIRE at the start and after a lost
    life stays only where the game waits for FIRE; vector games get the dense torso. Keys in
    `explicit` (set by the user) are kept as given: validation then says if they do not fit.
    """
    env_id = values.get("env_id", Config.env_id)
    if not isinstance(env_id, str):
        return values  # _coerce names the bad value
    try:
        game = describe_game(env_id)
    except UnknownGame as err:
        raise ConfigError(str(err)) from None
    fitted = dict(values)

    def default(key: str, value: Any) -> None:
        if key not in explicit:
            fitted[key] = value

    if not game.is_atari:
        default("torso", "atari" if game.pixels else "mlp")
        return fitted
    default("repeat_action_probability", game.sticky)
    if fitted.get("action_set", Config.action_set) == "seed3" and not game.seed3_fits:
        default("action_set", "minimal")
    if not game.needs_fire:
        if fitted.get("start_mode", Config.start_mode) == "fire":
            default("start_mode", "noop")
        if fitted.get("fire_on_life_loss", Config.fire_on_life_loss):
            default("fire_on_life_loss", False)
    return fitted


def read_toml(file: Path) -> dict[str, Any]:
    """Read a flat TOML table of config keys; a [train] table is accepted too."""
    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as err:
        raise ConfigError(f"cannot read config file {str(file)!r}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {str(file)!r} is not valid TOML: {err}") from err
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]
    if "preset" in data:
        raise ConfigError(
            f"config file {str(file)!r}: choose the preset with --preset, not in the file"
        )
    return data


def validate(cfg: Config) -> None:
    """Check every value a user can set; raise ConfigError for the first bad one."""

    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ConfigError(message)

    for name, choices in _CHOICES.items():
        value = getattr(cfg, name)
        need(value in choices, f"{name} = {value!r} is not one of {', '.join(choices)}")
    need(cfg.workers >= 1, f"workers = {cfg.workers} must be at least 1")
    need(cfg.envs_per_worker >= 1, f"envs_per_worker = {cfg.envs_per_worker} must be at least 1")
    need(
        cfg.learners_per_process >= 1,
        f"learners_per_process = {cfg.learners_per_process} must be at least 1",
    )
    need(cfg.frames >= 1, f"frames = {cfg.frames} must be at least 1")
    # Training seeds stay below 1e9, where evaluation seeds start (see learner_seed).
    need(0 <= cfg.seed < 100_000_000, f"seed = {cfg.seed} must be in 0-99999999")
    need(cfg.workers < 1000, f"workers = {cfg.workers} must be below 1000")
    need(cfg.frame_skip >= 1, f"frame_skip = {cfg.frame_skip} must be at least 1")
    need(cfg.frame_history >= 1, f"frame_history = {cfg.frame_history} must be at least 1")
    need(cfg.start_steps_min >= 0, f"start_steps_min = {cfg.start_steps_min} must be >= 0")
    need(
        cfg.start_steps_max >= cfg.start_steps_min,
        f"start_steps_max = {cfg.start_steps_max} must be >= start_steps_min "
        f"({cfg.start_steps_min})",
    )
    need(
        0.0 <= cfg.repeat_action_probability < 1.0,
        f"repeat_action_probability = {cfg.repeat_action_probability} must be in [0, 1)",
    )
    need(cfg.reward_clip >= 0, f"reward_clip = {cfg.reward_clip} must be >= 0 (0 disables)")
    need(cfg.max_episode_frames >= 1, f"max_episode_frames = {cfg.max_episode_frames} must be >= 1")
    need(cfg.t_max >= 1, f"t_max = {cfg.t_max} must be at least 1")
    need(0.0 <= cfg.gamma <= 1.0, f"gamma = {cfg.gamma} must be in [0, 1]")
    need(cfg.entropy_coef >= 0, f"entropy_coef = {cfg.entropy_coef} must be >= 0")
    need(cfg.value_coef > 0, f"value_coef = {cfg.value_coef} must be > 0")
    need(cfg.max_grad_norm >= 0, f"max_grad_norm = {cfg.max_grad_norm} must be >= 0 (0 disables)")
    need(math.isfinite(cfg.lr) and cfg.lr > 0, f"lr = {cfg.lr} must be a positive number")
    need(0.0 <= cfg.rms_alpha < 1.0, f"rms_alpha = {cfg.rms_alpha} must be in [0, 1)")
    need(cfg.rms_eps > 0, f"rms_eps = {cfg.rms_eps} must be > 0")
    for name in ("adam_beta1", "adam_beta2"):
        value = getattr(cfg, name)
        need(0.0 <= value < 1.0, f"{name} = {value} must be in [0, 1)")
    need(cfg.adam_eps > 0, f"adam_eps = {cfg.adam_eps} must be > 0")
    need(
        math.isfinite(cfg.rms_init) and cfg.rms_init >= 0,
        f"rms_init = {cfg.rms_init} must be a number >= 0",
    )
    need(
        cfg.checkpoint_interval_s > 0,
        f"checkpoint_interval_s = {cfg.checkpoint_interval_s} must be > 0",
    )
    need(cfg.keep_checkpoints >= 1, f"keep_checkpoints = {cfg.keep_checkpoints} must be >= 1")
    need(cfg.log_interval_s > 0, f"log_interval_s = {cfg.log_interval_s} must be > 0")
    need(cfg.health_interval_s > 0, f"health_interval_s = {cfg.health_interval_s} must be > 0")
    need(
        cfg.max_learner_restarts >= 0,
        f"max_learner_restarts = {cfg.max_learner_restarts} must be >= 0",
    )
    need(
        cfg.max_skipped_updates >= 0,
        f"max_skipped_updates = {cfg.max_skipped_updates} must be >= 0",
    )
    need(cfg.restart_window_s > 0, f"restart_window_s = {cfg.restart_window_s} must be > 0")
    try:
        game = describe_game(cfg.env_id)
    except UnknownGame as err:
        raise ConfigError(str(err)) from None
    check_game_fit(cfg, game)


def check_game_fit(cfg: Config, game: GameInfo) -> None:
    """Raise ConfigError if the config's settings cannot be played on its game."""
    env = repr(cfg.env_id)
    if not game.is_atari:
        if game.pixels and cfg.torso != "atari":
            raise ConfigError(f"env_id {env} has 84×84 frames; it needs torso = 'atari'")
        if not game.pixels and cfg.torso != "mlp":
            raise ConfigError(f"env_id {env} has vector observations; it needs torso = 'mlp'")
        return
    if cfg.torso != "atari":
        raise ConfigError(f"env_id {env} is an Atari game; it needs torso = 'atari'")
    has = ", ".join(game.action_names)
    if cfg.action_set == "seed3" and not set(SEED3_ACTIONS) <= set(game.minimal_actions):
        raise ConfigError(
            f"action_set = 'seed3' needs FIRE, RIGHT and LEFT, which {env} lacks (its actions: "
            f"{has}); use action_set = 'minimal'"
        )
    if cfg.start_mode == "fire" and not game.has_fire:
        raise ConfigError(
            f"start_mode = 'fire' needs FIRE, which {env} lacks (its actions: {has}); "
            "use start_mode = 'noop'"
        )
    if cfg.fire_on_life_loss and not game.has_fire:
        raise ConfigError(
            f"fire_on_life_loss = true needs FIRE, which {env} lacks (its actions: {has}); "
            "set it to false"
        )


def learner_groups(cfg: Config) -> list[list[int]]:
    """Learner ids per process: `workers` split as evenly as possible, at most
    `learners_per_process` to a process. 8 learners, 4 per process: [[0, 2, 4, 6], [1, 3, 5, 7]]."""
    processes = -(-cfg.workers // cfg.learners_per_process)
    return [list(range(p, cfg.workers, processes)) for p in range(processes)]


# What `a3c train --resume` may change: none of these alters the network, the game or the maths
# (the start steps change only where games begin: fine-tuning an agent to other starts).
RESUME_OVERRIDABLE = frozenset(
    {
        "frames",
        "start_steps_min",
        "start_steps_max",
        "start_unit",
        "workers",
        "learners_per_process",
        "envs_per_worker",
        "checkpoint_interval_s",
        "keep_checkpoints",
        "log_interval_s",
        "health_interval_s",
    }
)


# What `a3c train --branch` may not change: the game, the network and what it sees, and the
# optimizer (whose state the branch carries on). The maths, the budget and the seed may change:
# a branch is a new run that starts from another run's weights and optimizer state.
BRANCH_FIXED = frozenset(
    {"env_id", "frame_history", "action_set", "torso", "policy", "init", "pixel_input", "optimizer"}
)


def resume_config(
    stored: Config, overrides: dict[str, Any], branch: bool = False
) -> tuple[Config, dict[str, Any]]:
    """The stored config with the overrides a resumed run (or, with `branch`, a branch of it)
    may take; returns it and the changes.

    Raises ConfigError for an override a resume may not make (one that would change the network,
    the game or the maths) or a branch may not (the network, the game, the optimizer).
    """
    changes = {k: v for k, v in overrides.items() if v is not None and getattr(stored, k) != v}
    unknown = sorted(set(changes) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]!r}")
    if branch:
        fixed = sorted(set(changes) & BRANCH_FIXED)
        if fixed:
            key = fixed[0]
            raise ConfigError(
                f"cannot change {key} from {getattr(stored, key)!r} to {changes[key]!r} on a "
                f"branch, which carries on the checkpoint's network and optimizer; a branch "
                f"keeps {', '.join(sorted(BRANCH_FIXED))}"
            )
    elif unsafe := sorted(set(changes) - RESUME_OVERRIDABLE):
        key = unsafe[0]
        raise ConfigError(
            f"cannot change {key} from {getattr(stored, key)!r} to {changes[key]!r} when "
            f"resuming; a resumed run may change only {', '.join(sorted(RESUME_OVERRIDABLE))} "
            "(--branch starts a new run from the checkpoint that may change the rest)"
        )
    cfg = Config(**{**stored.to_dict(), **{k: _coerce(k, v) for k, v in changes.items()}})
    validate(cfg)
    return cfg, changes


def config_from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a config stored in a checkpoint or run directory (validated)."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"stored config has unknown key {unknown[0]!r}")
    cfg = Config(**{k: _coerce(k, v) for k, v in data.items()})
    validate(cfg)
    return cfg


__all__ = [
    "BRANCH_FIXED",
    "PRESETS",
    "PRESET_SUMMARIES",
    "Config",
    "ConfigError",
    "check_game_fit",
    "config_from_dict",
    "field_choices",
    "field_docs",
    "fit_to_game",
    "learner_groups",
    "make_config",
    "resume_config",
    "validate",
]
