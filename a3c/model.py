"""The actor-critic network: the seed's shared trunk, a policy core, a policy and a value head.

The core is what differs between policies: `ff` passes the trunk's features through, `lstm` runs
them through 256 LSTM units. A new policy is a `Core` subclass registered in `POLICIES` (and
named in `config.Policy`). Every policy answers the same calls: `forward(obs, state, starts)`
takes a sequence of T steps of B environments and the recurrent state before the first step,
and returns the logits, values and the state after the last step; `step` is the same for one
step. The feed-forward policy's state is the empty tuple, and it ignores `starts`.
"""

from __future__ import annotations

from typing import get_args

import torch
from torch import nn

from a3c.config import Config, Init, PixelInput
from a3c.games import describe_game

State = tuple[torch.Tensor, ...]
"""A policy's recurrent state for B environments: () (feed-forward) or (h, c), each (B, 256)."""

LSTM_UNITS = 256


class Core(nn.Module):
    """Between the trunk and the heads: features (T, B, F) and the state before step 0 in,
    features (T*B, H) and the state after step T-1 out; `starts` (T, B) marks first steps."""

    recurrent = False

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.out_features = in_features

    def initial_state(self, batch: int) -> State:
        """The state of B environments at the start of their games."""
        return ()

    def forward(
        self, x: torch.Tensor, state: State, starts: torch.Tensor | None
    ) -> tuple[torch.Tensor, State]:
        return x.reshape(-1, x.shape[-1]), state


class FeedForwardCore(Core):
    """The seed's policy: the trunk's features go straight to the heads; no state."""


class LSTMCore(Core):
    """The A3C paper's recurrent agent: 256 LSTM units, state (h, c), each (B, 256), reset to
    zeros where a game starts."""

    recurrent = True

    def __init__(self, in_features: int) -> None:
        super().__init__(in_features)
        self.cell = nn.LSTMCell(in_features, LSTM_UNITS)
        self.out_features = LSTM_UNITS

    def initial_state(self, batch: int) -> State:
        zeros = torch.zeros(batch, LSTM_UNITS)
        return (zeros, zeros.clone())

    def forward(
        self, x: torch.Tensor, state: State, starts: torch.Tensor | None
    ) -> tuple[torch.Tensor, State]:
        h, c = state if state else self.initial_state(x.shape[1])
        keep = None if starts is None else (1.0 - starts.float()).unsqueeze(-1)  # (T, B, 1)
        out = []
        for i in range(x.shape[0]):
            if keep is not None:
                h, c = h * keep[i], c * keep[i]
            h, c = self.cell(x[i], (h, c))
            out.append(h)
        return torch.cat(out), (h, c)


POLICIES: dict[str, type[Core]] = {"ff": FeedForwardCore, "lstm": LSTMCore}
"""Every policy by its config name (`--policy`)."""


def _renamed_lstm_keys(
    state_dict: dict[str, torch.Tensor], prefix: str, *args: object, **kwargs: object
) -> None:
    """Checkpoints written before the cores existed name the LSTM's weights `lstm.*`."""
    for key in [k for k in state_dict if k.startswith(prefix + "lstm.")]:
        state_dict[prefix + "core.cell." + key[len(prefix) + 5 :]] = state_dict.pop(key)


def background_level(obs: torch.Tensor) -> torch.Tensor:
    """The most common pixel value of each observation: obs (N, ...) uint8 -> (N,) float.

    A stack of frames (N, C, H, W) is read from its newest frame at every second row and column:
    the frames of one stack share their background, and a quarter of one frame finds it as
    surely at a sixteenth of the cost (the learning pass asks for it on every observation).
    One histogram per observation, from a single bincount; ties go to the darker value."""
    if obs.dtype != torch.uint8 or obs.dim() not in (2, 4):
        # A float screen or an unbatched stack would give a wrong level without an error.
        raise ValueError(
            "background_level wants uint8 (N, D) or (N, C, H, W), "
            f"got {obs.dtype} {tuple(obs.shape)}"
        )
    n = obs.shape[0]
    sample = obs[:, -1, ::2, ::2] if obs.dim() == 4 else obs
    offsets = torch.arange(n, device=obs.device).mul_(256).unsqueeze(1)
    values = sample.reshape(n, -1).long() + offsets
    counts = torch.bincount(values.flatten(), minlength=256 * n)
    return counts.view(n, 256).argmax(dim=1).float()


class ActorCritic(nn.Module):
    """Shared trunk, then the policy's core (`POLICIES`), then policy logits and value heads.

    'atari' trunk (the seed's): input (B, 4, 84, 84) uint8 → conv 16×8×8/4, ReLU → conv 32×4×4/2,
    ReLU → flatten (2592) → dense 256, ReLU. 'mlp' trunk: (B, D) float → 2 × dense 64, tanh.
    'lstm' adds 256 LSTM units after the trunk, as the A3C paper's recurrent agent.
    """

    def __init__(
        self,
        obs_shape: tuple[int, ...],
        n_actions: int,
        torso: str = "atari",
        policy: str = "ff",
        init: Init = "glorot",
        pixel_input: PixelInput = "scale",
    ) -> None:
        super().__init__()
        if pixel_input not in get_args(PixelInput):
            raise ValueError(f"unknown pixel_input {pixel_input!r}")
        self.pixel_input = pixel_input
        self.obs_shape = tuple(obs_shape)
        self.n_actions = n_actions
        self.torso = torso
        self.policy_kind = policy
        if torso == "atari":
            channels = obs_shape[0]
            self.trunk: nn.Sequential = nn.Sequential(
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
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; valid policies: {', '.join(POLICIES)}")
        self.core = POLICIES[policy](hidden)
        hidden = self.core.out_features
        self._register_load_state_dict_pre_hook(_renamed_lstm_keys)
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)
        self.reset_parameters(init)

    @property
    def recurrent(self) -> bool:
        return self.core.recurrent

    def reset_parameters(self, init: Init = "glorot") -> None:
        """Initialise the weights; biases are zero but for 'torch'. The LSTM keeps PyTorch's own.

        'glorot': Glorot-uniform everywhere, Keras' default, as the seed's network had.
        'orthogonal': orthogonal with gain sqrt(2) in the trunk, 0.01 on the policy head (so the
        first policy is uniform and its logits move by the gradient, not by the draw) and 1 on the
        value head, as Stable-Baselines3 and CleanRL initialise their actor-critics.
        'torch': PyTorch's default for each layer (Kaiming-uniform weights, i.e. uniform in
        ±1/sqrt(fan_in), and biases in the same range), which PFRL's A3C trains with.
        """
        if init not in get_args(Init):
            raise ValueError(f"unknown init {init!r}")
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                if init == "torch":  # the layer's own default, random biases included
                    module.reset_parameters()
                    continue
                if init == "glorot":
                    nn.init.xavier_uniform_(module.weight)
                elif module is self.policy:
                    nn.init.orthogonal_(module.weight, gain=0.01)
                elif module is self.value:
                    nn.init.orthogonal_(module.weight, gain=1.0)
                else:
                    nn.init.orthogonal_(module.weight, gain=2**0.5)
                assert module.bias is not None
                nn.init.zeros_(module.bias)

    def initial_state(self, batch: int) -> State:
        """The state of B environments at the start of their games: () or zeros (h, c)."""
        return self.core.initial_state(batch)

    def forward(
        self, obs: torch.Tensor, state: State = (), starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """A sequence of T steps of B environments.

        obs: (T, B, *obs_shape), uint8 pixels or floats. state: the state before step 0.
        starts: (T, B), nonzero where a step is the first of a new game (its state is reset
        first); None: no step starts a game. Returns logits (T, B, A), values (T, B) and the
        state after step T-1.
        """
        t, b = obs.shape[:2]
        h = self.trunk(self.prepare(obs.reshape(t * b, *obs.shape[2:])))
        h, state = self.core(h.view(t, b, -1), state, starts)
        return self.policy(h).view(t, b, -1), self.value(h).view(t, b), state

    def prepare(self, obs: torch.Tensor) -> torch.Tensor:
        """The trunk's input from a batch of observations (N, *obs_shape): uint8 pixels scaled to
        [0, 1]; with 'centre' each observation's mean pixel subtracted, with 'background' its
        most common pixel value; floats as given."""
        if obs.dtype != torch.uint8:
            return obs
        x = obs.float() / 255.0
        if self.pixel_input == "centre":
            x.sub_(x.mean(dim=tuple(range(1, x.dim())), keepdim=True))
        elif self.pixel_input == "background":
            level = background_level(obs)
            # Breakout's, Space Invaders' and Q*bert's field is black: skip a pass over the input.
            if level.any():
                x.sub_((level / 255.0).view(-1, *([1] * (x.dim() - 1))))
        return x

    def step(
        self, obs: torch.Tensor, state: State = (), starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """One step: obs (B, *obs_shape), starts (B,) or None. Returns (B, A), (B,), state."""
        logits, values, state = self.forward(
            obs.unsqueeze(0), state, None if starts is None else starts.unsqueeze(0)
        )
        return logits[0], values[0], state


def network_shape(cfg: Config) -> tuple[tuple[int, ...], int]:
    """(input shape, number of actions) of the network for a config's game and action set:
    ((4, 84, 84), 3) for the seed's Breakout."""
    return describe_game(cfg.env_id).network_shape(cfg.action_set, cfg.frame_history)


def build_model(cfg: Config) -> ActorCritic:
    """The network a config asks for: the one place where it is built. Its initial weights are
    drawn from `cfg.seed`, so a run's seed decides where it starts (the caller's random state
    is left as it was)."""
    obs_shape, n_actions = network_shape(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return ActorCritic(obs_shape, n_actions, cfg.torso, cfg.policy, cfg.init, cfg.pixel_input)


def parameter_table(model: nn.Module) -> list[tuple[str, int]]:
    """(layer name, parameter count) for every layer with parameters, in order."""
    rows = []
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if own:
            rows.append((name, sum(p.numel() for p in own)))
    return rows
