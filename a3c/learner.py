"""One actor-learner: pull the global weights, act for up to t_max steps, push a gradient, repeat.

The loop below is the whole algorithm. It reaches the global network only through a
`ParameterServer` and reports statistics only through a `sink`, so the same code runs in a
thread, in a local process (Hogwild on shared memory) or on a cluster.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from a3c.config import Config
from a3c.envs import EpisodeStats, VecEnv, VecStep, make_vec_env
from a3c.losses import a3c_loss, n_step_returns
from a3c.model import ActorCritic, State, build_model
from a3c.optim import clip_grad_norm_
from a3c.records import LOSS_TERMS, TRAINING_STATISTICS, EpisodeRecord, Record, TrainRecord
from a3c.server import ParameterServer, flatten_module_


class Sink(Protocol):
    """Where a learner sends its records (a multiprocessing queue, a Ray queue, a list)."""

    def put(self, record: Record) -> None: ...


def learner_seed(base_seed: int, learner_id: int) -> int:
    """Seed of a learner's environments and sampling; evaluation uses seeds below 1000."""
    return base_seed + 1000 * (learner_id + 1)


def env_seeds(cfg: Config, learner_ids: list[int]) -> list[int]:
    """Seeds of the environments of `learner_ids`, envs_per_worker per learner, in order."""
    return [learner_seed(cfg.seed, i) + j for i in learner_ids for j in range(cfg.envs_per_worker)]


@dataclass
class Rollout:
    """Preallocated storage for one rollout of T steps over E environments."""

    obs: torch.Tensor  # (T + 1, E, *obs_shape): the last slot holds the state after step T
    actions: torch.Tensor  # (T, E) int64
    rewards: torch.Tensor  # (T, E) float32, clipped
    ends: torch.Tensor  # (T, E) float32: 1 where the episode ended after that step
    starts: torch.Tensor  # (T + 1, E) float32: 1 where obs[t] is an episode's first
    state: State = ()  # the policy's state before step 0 (none for the feed-forward one)

    def record(self, t: int, actions: np.ndarray, step: VecStep, ended: np.ndarray) -> None:
        """Store step t: its actions (E,), rewards and ends, and the screens after it."""
        self.actions[t] = torch.from_numpy(actions)
        self.rewards[t] = torch.from_numpy(step.rewards)
        self.ends[t] = torch.from_numpy(ended.astype(np.float32))
        self.starts[t + 1] = self.ends[t]  # the policy's state is reset where one ended
        self.obs[t + 1] = torch.from_numpy(step.obs)

    def carry_over(self, n: int) -> None:
        """Start the next rollout from the screens after this one's n steps."""
        self.obs[0] = self.obs[n]
        self.starts[0] = self.starts[n]

    @classmethod
    def allocate(
        cls, t_max: int, num_envs: int, obs_shape: tuple[int, ...], dtype: torch.dtype
    ) -> Rollout:
        return cls(
            obs=torch.zeros((t_max + 1, num_envs, *obs_shape), dtype=dtype),
            actions=torch.zeros((t_max, num_envs), dtype=torch.int64),
            rewards=torch.zeros((t_max, num_envs)),
            ends=torch.zeros((t_max, num_envs)),
            starts=torch.zeros((t_max + 1, num_envs)),
        )


class Timer:
    """Accumulates wall time per phase of the loop (env, inference, learn, sync)."""

    def __init__(self) -> None:
        self.seconds = {"env": 0.0, "inference": 0.0, "learn": 0.0, "sync": 0.0}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] += now - self._last
        self._last = now


def run_learners(
    cfg: Config,
    server: ParameterServer,
    learner_ids: list[int],
    sink: Sink,
    should_stop: Callable[[], bool],
) -> None:
    """Act and learn until the global frame budget is spent or `should_stop()` says so.

    Runs the actor-learners `learner_ids` in lockstep on this thread: each has its own
    `envs_per_worker` environments, rollout and gradient, but they share one local copy of the
    global weights, pulled once per round, so that acting is one batched forward pass for all.
    """
    e = cfg.envs_per_worker
    env, roll, rng, start_frames = start_games(cfg, learner_ids)
    model = build_model(cfg)
    params, grad = flatten_module_(model)
    state = model.initial_state(env.num_envs)  # carried from step to step, rollout to rollout
    report = Reporter(sink, learner_ids, e, cfg.log_interval_s, start_frames)
    timer = Timer()
    checked = False  # whether backward's gradients have been seen to land in `grad`

    while not should_stop() and server.frames() < cfg.frames:
        server.pull(params)
        # Learning starts from the state acting had here; a copy made outside inference mode
        # is a plain tensor, and the graph is cut at the rollout's start.
        roll.state = tuple(s.clone() for s in state)
        timer.lap("sync")
        n = 0
        while n < cfg.t_max:
            with torch.inference_mode():
                logits, _, state = model.step(roll.obs[n], state, roll.starts[n])
                probs = torch.softmax(logits, dim=1).numpy()
            actions = sample_actions(probs, rng)
            timer.lap("inference")
            step = env.step(actions)
            timer.lap("env")
            ended = step.episode_ends(cfg.terminal_on_life_loss)
            roll.record(n, actions, step, ended)
            if step.final_obs:  # cut off by the frame cap: bootstrap its reward from V(s_final)
                add_truncation_bootstrap(model, roll.rewards[n], step.final_obs, state, cfg.gamma)
            report.step(step, probs, server)
            n += 1
            if ended.all():  # the seed updates as soon as its game ends
                break

        # Each learner learns from its own rollout and pushes its own gradient, all computed at
        # the weights the rollout was acted with.
        for learner in range(len(learner_ids)):
            loss, terms = rollout_loss(model, roll, n, slice(learner * e, (learner + 1) * e), cfg)
            norm = backward(loss, model, grad, cfg.max_grad_norm, check_views=not checked)
            checked = True
            timer.lap("learn")
            frames = report.take_frames(learner)
            if np.isfinite(norm):
                global_frames = server.push(grad, frames)
            else:  # never apply a non-finite gradient to the shared network
                global_frames = server.add_frames(frames)
                report.skipped_update()
            timer.lap("sync")
            report.update(terms, norm, timer.seconds, global_frames)
        roll.carry_over(n)
    report.flush(server.frames(), timer.seconds)
    env.close()


def start_games(
    cfg: Config, learner_ids: list[int]
) -> tuple[VecEnv, Rollout, np.random.Generator, int]:
    """Seed this group of learners, start their games and a rollout holding the first screens.

    Returns the games, the rollout, the sampling generator and the frames the starts played.
    """
    seeds = env_seeds(cfg, learner_ids)
    torch.manual_seed(seeds[0])
    rng = np.random.default_rng(seeds[0])
    env = make_vec_env(cfg, seeds)
    obs, start_frames = env.reset()
    dtype = torch.uint8 if obs.dtype == np.uint8 else torch.float32
    roll = Rollout.allocate(cfg.t_max, env.num_envs, env.obs_shape, dtype)
    roll.obs[0] = torch.from_numpy(obs)
    roll.starts[0] = 1.0
    return env, roll, rng, start_frames


def backward(
    loss: torch.Tensor,
    model: ActorCritic,
    grad: torch.Tensor,
    max_norm: float,
    check_views: bool = False,
) -> float:
    """Backpropagate `loss` into the flat gradient `grad` (P,), zeroed first, and clip it to
    `max_norm`. Returns the norm before clipping (inf or nan if it is not finite).

    `check_views`: first verify that backward accumulated into `grad` (once per process is
    enough; the learner loop does not pay for it at every update)."""
    grad.zero_()
    loss.backward()
    if check_views:
        check_grads_are_views(model, grad)
    return clip_grad_norm_(grad, max_norm)


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row of probs (E, A), drawn by inverse CDF. Returns (E,) int64.

    A few microseconds, against tens for torch.multinomial on such small batches.
    """
    below = probs.cumsum(axis=1) < rng.random((probs.shape[0], 1))
    return np.minimum(below.sum(axis=1), probs.shape[1] - 1).astype(np.int64)


def check_grads_are_views(model: torch.nn.Module, grad: torch.Tensor) -> None:
    """Fail loudly if backward replaced a .grad instead of accumulating into the flat buffer."""
    start = grad.untyped_storage().data_ptr()
    for p in model.parameters():
        if p.grad is None or p.grad.untyped_storage().data_ptr() != start:
            raise RuntimeError("a parameter's gradient is no longer a view of the flat gradient")


def rollout_loss(
    model: ActorCritic, roll: Rollout, n: int, cols: slice, cfg: Config
) -> tuple[torch.Tensor, dict[str, float]]:
    """The A3C loss of the first n steps of the environments `cols` of a rollout.

    One forward pass over steps 0..n from the state acting had at step 0: the value of step n
    is the bootstrap V(s_n), the state *after* the last action (the seed's code used
    V(s_{n-1}), the state before it: a bug).
    """
    e = cols.stop - cols.start
    obs = roll.obs[: n + 1, cols]
    if obs.dtype == torch.uint8:  # the convolutions run faster on channels-last input
        shape = obs.shape
        obs = obs.reshape(-1, *shape[2:]).contiguous(memory_format=torch.channels_last)
        obs = obs.view(shape)
    state = tuple(s[cols] for s in roll.state)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.learn_precision == "bfloat16"):
        logits, values, _ = model(obs, state, roll.starts[: n + 1, cols])
    logits, values = logits.float().view((n + 1) * e, -1), values.float()
    returns = n_step_returns(
        roll.rewards[:n, cols], roll.ends[:n, cols], values[n].detach(), cfg.gamma
    )
    return a3c_loss(
        logits[: n * e],
        values[:n].reshape(-1),
        roll.actions[:n, cols].reshape(-1),
        returns.reshape(-1),
        cfg.entropy_coef,
        cfg.value_coef,
        cfg.value_loss_reduction,
    )


def add_truncation_bootstrap(
    model: ActorCritic,
    rewards: torch.Tensor,
    final_obs: dict[int, np.ndarray],
    state: State,
    gamma: float,
) -> None:
    """Add gamma * V(s_final) to the rewards (E,) of environments cut off by the frame cap;
    `state` is the policy's for all E environments after the step that was cut off."""
    index = list(final_obs)
    batch = torch.from_numpy(np.stack([final_obs[i] for i in index]))
    with torch.inference_mode():
        _, value, _ = model.step(batch, tuple(s[index] for s in state))
    rewards[index] += gamma * value


class Reporter:
    """Batches a learner group's statistics into records for the trainer (episodes, losses,
    timings), and counts each learner's frames until its next push."""

    def __init__(
        self,
        sink: Sink,
        learner_ids: list[int],
        envs_per_learner: int,
        interval_s: float,
        start_frames: int = 0,
    ) -> None:
        """`start_frames`: frames the games' starts played, counted with the first push."""
        self.sink = sink
        self.learner_ids = learner_ids
        self.envs_per_learner = envs_per_learner
        self.interval_s = interval_s
        self.next_report = time.monotonic() + interval_s
        self.frames_pending = [start_frames] + [0] * (len(learner_ids) - 1)
        self.max_prob_sums = np.zeros(len(learner_ids) * envs_per_learner)  # per game so far
        self._reset()

    def step(self, step: VecStep, probs: np.ndarray, server: ParameterServer) -> None:
        """Count a step's frames per learner and report the games it ended; probs (E, A)."""
        self.max_prob_sums += probs.max(axis=1)
        for i, frames in enumerate(step.frames_per_env):
            self.frames_pending[i // self.envs_per_learner] += frames
        for ep in step.episodes:
            avg_max_prob = self.max_prob_sums[ep.env_index] / max(ep.steps, 1)
            self.episode(ep, avg_max_prob, server.frames())
            self.max_prob_sums[ep.env_index] = 0.0

    def take_frames(self, learner: int) -> int:
        """The frames learner (0..k-1 of this group) played since its last push."""
        frames, self.frames_pending[learner] = self.frames_pending[learner], 0
        return frames

    def _reset(self) -> None:
        self.updates = 0
        self.sums = dict.fromkeys(TRAINING_STATISTICS, 0.0)
        self.skipped = 0

    def episode(self, ep: EpisodeStats, avg_max_prob: float, global_frames: int) -> None:
        self.sink.put(
            EpisodeRecord(
                learner=self.learner_ids[ep.env_index // self.envs_per_learner],
                score=ep.score,
                steps=ep.steps,
                avg_max_prob=avg_max_prob,
                episode_frames=ep.frames,
                truncated=ep.truncated,
                frames=global_frames,
            )
        )

    def skipped_update(self) -> None:
        self.skipped += 1

    def update(
        self, terms: dict[str, float], norm: float, seconds: dict[str, float], global_frames: int
    ) -> None:
        if np.isfinite(norm):  # a skipped update's terms would spoil the averages
            self.updates += 1
            for key in LOSS_TERMS:
                self.sums[key] += terms[key]
            self.sums["grad_norm"] += norm
        if time.monotonic() >= self.next_report:
            self.flush(global_frames, seconds)

    def flush(self, global_frames: int, seconds: dict[str, float]) -> None:
        n = max(self.updates, 1)
        self.sink.put(
            TrainRecord(
                learner=self.learner_ids[0],
                frames=global_frames,
                updates=self.updates,
                skipped=self.skipped,
                statistics={key: value / n for key, value in self.sums.items()},
                seconds=dict(seconds),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            )
        )
        self.next_report = time.monotonic() + self.interval_s
        self._reset()
