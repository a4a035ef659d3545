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
from a3c.envs import EpisodeStats, VecStep, make_vec_env
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
    k, e = len(learner_ids), cfg.envs_per_worker
    seeds = env_seeds(cfg, learner_ids)
    torch.manual_seed(seeds[0])
    rng = np.random.default_rng(seeds[0])
    env = make_vec_env(cfg, seeds)
    model = build_model(cfg, env.obs_shape, env.n_actions)
    params, grad = flatten_module_(model)
    obs_np, start_frames = env.reset()
    pixels = obs_np.dtype == np.uint8
    roll = Rollout.allocate(
        cfg.t_max, env.num_envs, env.obs_shape, torch.uint8 if pixels else torch.float32
    )
    roll.obs[0] = torch.from_numpy(obs_np)
    roll.starts[0] = 1.0
    state = model.initial_state(env.num_envs)  # carried from step to step, rollout to rollout
    episode_max_prob = np.zeros(env.num_envs)  # running sums for the seed's avg_max_prob
    frames_pending = [start_frames] + [0] * (k - 1)  # per learner, not yet counted globally
    report = Reporter(sink, learner_ids, e, cfg.log_interval_s)
    timer = Timer()
    first_backward = True

    while not should_stop() and server.frames() < cfg.frames:
        server.pull(params)
        # Learning starts from the state acting had here; a copy made outside inference mode
        # is a plain tensor, and the graph is cut at the rollout's start.
        roll.state = tuple(s.clone() for s in state)
        timer.lap("sync")
        steps = 0
        for t in range(cfg.t_max):
            with torch.inference_mode():
                logits, _, state = model.step(roll.obs[t], state, roll.starts[t])
                probs = torch.softmax(logits, dim=1).numpy()
            actions = sample_actions(probs, rng)
            episode_max_prob += probs.max(axis=1)
            timer.lap("inference")
            step: VecStep = env.step(actions)
            timer.lap("env")
            roll.actions[t] = torch.from_numpy(actions)
            roll.rewards[t] = torch.from_numpy(step.rewards)
            ended = step.episode_ends(cfg.terminal_on_life_loss)
            roll.ends[t] = torch.from_numpy(ended.astype(np.float32))
            roll.starts[t + 1] = roll.ends[t]  # the policy's state is reset where one ended
            if step.final_obs:  # cut off by the frame cap: bootstrap its reward from V(s_final)
                add_truncation_bootstrap(model, roll.rewards[t], step.final_obs, state, cfg.gamma)
            roll.obs[t + 1] = torch.from_numpy(step.obs)
            for i, frames in enumerate(step.frames_per_env):
                frames_pending[i // e] += frames
            for ep in step.episodes:
                report.episode(
                    ep, episode_max_prob[ep.env_index] / max(ep.steps, 1), server.frames()
                )
                episode_max_prob[ep.env_index] = 0.0
            steps = t + 1
            if ended.all():  # the seed updates as soon as its game ends
                break

        # Each learner learns from its own rollout and pushes its own gradient, all computed at
        # the weights the rollout was acted with.
        n = steps
        for learner in range(k):
            cols = slice(learner * e, (learner + 1) * e)
            loss, terms = rollout_loss(model, roll, n, cols, cfg)
            grad.zero_()
            loss.backward()
            if first_backward:
                check_grads_are_views(model, grad)
                first_backward = False
            norm = clip_grad_norm_(grad, cfg.max_grad_norm)
            timer.lap("learn")
            if np.isfinite(norm):
                global_frames = server.push(grad, frames_pending[learner])
            else:  # never apply a non-finite gradient to the shared network
                global_frames = server.add_frames(frames_pending[learner])
                report.skipped_update()
            frames_pending[learner] = 0
            timer.lap("sync")
            report.update(terms, norm, timer.seconds, global_frames)
        roll.obs[0] = roll.obs[n]
        roll.starts[0] = roll.starts[n]
    report.flush(server.frames(), timer.seconds)
    env.close()


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
    """Batches a learner's statistics into records for the trainer (episodes, losses, timings)."""

    def __init__(
        self, sink: Sink, learner_ids: list[int], envs_per_learner: int, interval_s: float
    ) -> None:
        self.sink = sink
        self.learner_ids = learner_ids
        self.envs_per_learner = envs_per_learner
        self.interval_s = interval_s
        self.next_report = time.monotonic() + interval_s
        self._reset()

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
