"""Throughput measurement: training exactly as `a3c train` runs it, and the environment alone."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from a3c.backends.local import _CONTEXT
from a3c.config import Config, learner_groups
from a3c.envs import make_vec_env
from a3c.learner import env_seeds
from a3c.trainer import Trainer

PHASES = ("env", "inference", "learn", "sync")


def _env_only(
    cfg: Config, learner_ids: list[int], start_at: float, seconds: float, results: Any
) -> None:
    """Step one process's environments with random actions from `start_at` (a wall-clock time)
    for `seconds`; report the frames."""
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    seeds = env_seeds(cfg, learner_ids)
    env = make_vec_env(cfg, seeds)
    rng = np.random.default_rng(seeds[0])
    env.reset()
    frames = 0
    time.sleep(max(0.0, start_at - time.time()))  # all processes measure the same window
    end = start_at + seconds
    while time.time() < end:
        frames += env.step(rng.integers(0, env.n_actions, env.num_envs)).frames
    results.put(frames)


def env_frames_per_second(cfg: Config, seconds: float) -> float:
    """Frames per second of the trainer's processes doing nothing but stepping environments."""
    results = _CONTEXT.Queue()
    start_at = time.time() + 5.0  # after every process has started and reset its games
    procs = [
        _CONTEXT.Process(target=_env_only, args=(cfg, group, start_at, seconds, results))
        for group in learner_groups(cfg)
    ]
    for p in procs:
        p.start()
    # Every process reports after `seconds`, so the sum over the same window is the rate.
    total = sum(results.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join()
    return float(total) / seconds


def training_throughput(
    cfg: Config,
    seconds: float,
    warmup_s: float,
    backend: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Run the real trainer for warmup_s + seconds; frames/s and time split after warm-up."""
    with tempfile.TemporaryDirectory(prefix="a3c-bench-") as tmp:
        trainer = Trainer(
            cfg, Path(tmp) / "run", progress_interval_s=0.5, backend=backend, address=address
        )
        summary = trainer.run(time_limit_s=warmup_s + seconds)
    # The warm-up starts with the first frames: starting processes (or Ray actors) is not in it.
    if summary.first_frames_s is None:
        raise RuntimeError("the learners produced no frames")
    window_start = summary.first_frames_s + warmup_s
    samples = [s for s in summary.frame_samples if s[0] >= window_start]
    if len(samples) < 2:
        raise RuntimeError(f"no throughput samples after the {warmup_s:g} s warm-up")
    start, end = samples[0], samples[-1]
    fps = (end[1] - start[1]) / max(end[0] - start[0], 1e-9)
    spent = dict.fromkeys(PHASES, 0.0)
    rss = []
    for reports in summary.learner_reports.values():
        # Each process's cumulative phase times, from its last report before the window to its
        # final one (written when it stopped at the end of the window).
        before = [r for r in reports if r.wall_s < window_start]
        base = before[-1].seconds if before else dict.fromkeys(PHASES, 0.0)
        for phase in PHASES:
            spent[phase] += reports[-1].seconds[phase] - base[phase]
        rss.append(max(r.peak_rss_mb for r in reports))
    busy = sum(spent.values()) or 1.0
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "frames_per_second": round(fps, 1),
        "time_split": {phase: round(spent[phase] / busy, 3) for phase in PHASES},
        "peak_rss_mb": round(sum(rss) + main_rss, 1),
        "peak_rss_mb_per_process": round(max(rss), 1) if rss else None,
        "peak_rss_mb_trainer": round(main_rss, 1),
        "frames_measured": end[1] - start[1],
    }


def run_bench(
    cfg: Config,
    seconds: float,
    warmup_s: float,
    backend: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Both measurements, as one JSON-ready dict (the environments alone always run locally)."""
    # Only the clock ends a bench run; reports come often enough to bracket the warm-up.
    log_interval_s = min(cfg.log_interval_s, max(warmup_s, 0.5) / 2)
    cfg_bench = Config(**{**cfg.to_dict(), "frames": 10**15, "log_interval_s": log_interval_s})
    result: dict[str, Any] = {
        "preset": cfg.preset,
        "policy": cfg.policy,
        "backend": backend,
        "env_id": cfg.env_id,
        "workers": cfg.workers,
        "envs_per_worker": cfg.envs_per_worker,
        "learners_per_process": cfg.learners_per_process,
        "processes": len(learner_groups(cfg)),
        "t_max": cfg.t_max,
        "seconds": seconds,
        "warmup_seconds": warmup_s,
    }
    result.update(training_throughput(cfg_bench, seconds, warmup_s, backend, address))
    result["env_frames_per_second"] = round(env_frames_per_second(cfg_bench, seconds), 1)
    result["fraction_of_env_ceiling"] = round(
        result["frames_per_second"] / max(result["env_frames_per_second"], 1e-9), 3
    )
    return result
