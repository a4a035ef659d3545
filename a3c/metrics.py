"""Where a run's figures go: TensorBoard and CSV files beside it, all against global frames."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

EPISODE_FIELDS = ("frames", "episode", "score", "steps", "avg_max_prob", "learner", "wall_s")
TRAIN_FIELDS = (
    "frames",
    "updates",
    "policy",
    "value",
    "entropy",
    "grad_norm",
    "frames_per_second",
    "wall_s",
)


class MetricsLogger:
    """Writes per-episode and training records to TensorBoard and to episodes.csv / train.csv.

    `run_dir/tb` holds the TensorBoard events; the CSV files can be read with any tool.
    """

    def __init__(
        self, run_dir: Path, config: dict[str, Any], resume_frames: int | None = None
    ) -> None:
        """`resume_frames`: continue a run from its checkpoint at this many frames; records
        written after that checkpoint are dropped, so the curves have no duplicated steps."""
        from torch.utils.tensorboard import SummaryWriter

        # purge_step makes TensorBoard discard the old events at or after the checkpoint.
        self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=resume_frames)
        self._files: list[IO[str]] = []
        self.episodes = self._csv(run_dir / "episodes.csv", EPISODE_FIELDS, resume_frames)
        self.train = self._csv(run_dir / "train.csv", TRAIN_FIELDS, resume_frames)
        table = "\n".join(f"| {k} | {v} |" for k, v in config.items())
        self.writer.add_text("config", "| key | value |\n|---|---|\n" + table, 0)
        self.writer.add_text(
            "config_json", "    " + json.dumps(config, indent=2).replace("\n", "\n    "), 0
        )

    def _csv(
        self, path: Path, fields: tuple[str, ...], resume_frames: int | None
    ) -> csv.DictWriter[str]:
        kept: list[dict[str, str]] = []
        if resume_frames is not None and path.exists():
            with open(path, newline="") as old:
                kept = [r for r in csv.DictReader(old) if int(r["frames"]) <= resume_frames]
        tmp = path.with_name(path.name + ".tmp")
        fh = open(tmp, "w", newline="")  # noqa: SIM115 (closed in close())
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        fh.flush()
        tmp.replace(path)  # the old file stays whole until the kept rows are written
        self._files.append(fh)
        return writer

    def episode(self, frames: int, record: dict[str, Any]) -> None:
        """One finished game: keys score, steps, avg_max_prob (plus episode, learner, wall_s)."""
        for key in ("score", "avg_max_prob", "steps"):
            self.writer.add_scalar(f"episode/{key}", record[key], frames)
        self.episodes.writerow({**record, "frames": frames})

    def training(self, frames: int, record: dict[str, Any]) -> None:
        """Loss terms (policy, value, entropy, grad_norm) and frames_per_second."""
        for key in ("policy", "value", "entropy", "grad_norm"):
            if key in record:
                self.writer.add_scalar(f"loss/{key}", record[key], frames)
        self.writer.add_scalar("perf/frames_per_second", record["frames_per_second"], frames)
        self.train.writerow({**record, "frames": frames})

    def flush(self) -> None:
        self.writer.flush()
        for fh in self._files:
            fh.flush()

    def close(self) -> None:
        self.writer.close()
        for fh in self._files:
            fh.close()
