"""What learners send the trainer: typed records, defined once for every backend."""

from __future__ import annotations

from dataclasses import dataclass, field

LOSS_TERMS = ("policy", "value", "entropy")
"""The loss terms a learner reports (a3c_loss's terms), in the order the metrics list them."""

TRAINING_STATISTICS = (*LOSS_TERMS, "grad_norm")
"""Averaged over a report's updates: the loss terms and the gradient norm before clipping."""


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished game of one learner."""

    learner: int
    score: float  # raw game score (rewards before clipping)
    steps: int  # agent steps
    avg_max_prob: float  # mean over its steps of the policy's largest probability (the seed's)
    episode_frames: int  # emulator frames of the game
    truncated: bool  # cut off by the frame cap
    frames: int  # global frames when it ended


@dataclass(frozen=True)
class TrainRecord:
    """A learner process's updates since its last report (first learner id of its group)."""

    learner: int
    frames: int  # global frames at the report
    updates: int  # updates applied
    skipped: int  # updates skipped for a non-finite gradient
    statistics: dict[str, float]  # TRAINING_STATISTICS averaged over the updates
    seconds: dict[str, float]  # cumulative time per phase of the loop (env, inference, ...)
    peak_rss_mb: float
    wall_s: float = field(default=0.0)  # training time when the trainer received it


@dataclass(frozen=True)
class ErrorRecord:
    """A learner group's exception; its process exits next."""

    learners: list[int]
    error: str  # the traceback


Record = EpisodeRecord | TrainRecord | ErrorRecord
