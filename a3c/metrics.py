"""Where a run's figures go: TensorBoard and CSV files beside it, all against global frames."""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, NamedTuple

from a3c.health import HEALTH_FIELDS
from a3c.records import TRAINING_STATISTICS

log = logging.getLogger(__name__)

EPISODE_FIELDS = ("frames", "episode", "score", "steps", "avg_max_prob", "learner", "wall_s")
TRAIN_FIELDS = (
    "frames",
    "updates",
    *TRAINING_STATISTICS,
    "frames_per_second",
    "wall_s",
    *HEALTH_FIELDS,
)


class RunDataError(ValueError):
    """A run's metrics file is missing, unreadable or not one this project wrote."""


def read_rows(path: Path, numeric: tuple[str, ...]) -> tuple[list[dict[str, str]], int]:
    """The whole rows of a metrics CSV whose `numeric` fields parse, and how many were damaged.

    A row is damaged if it has too few or too many fields, a `numeric` field that does not
    parse, or it is the last and has no line end (the writer was killed in the middle of it).
    Raises RunDataError if the file cannot be read or its header lacks a `numeric` field.
    """
    try:
        with open(path, newline="") as fh:
            text = fh.read()
    except OSError as err:
        raise RunDataError(f"cannot read {str(path)!r}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise RunDataError(f"{str(path)!r} is not an a3c metrics file ({err})") from None
    reader = csv.DictReader(io.StringIO(text))
    try:
        missing = [f for f in numeric if f not in (reader.fieldnames or [])]
        if missing:
            raise RunDataError(
                f"{str(path)!r} is not an a3c metrics file (no {missing[0]!r} column)"
            )
        rows, damaged, last_whole = [], 0, False
        for row in reader:
            try:
                if None in row or None in row.values():
                    raise ValueError("too many or too few fields")
                for key in numeric:
                    float(row[key])
                rows.append(row)
                last_whole = True
            except ValueError:
                damaged += 1
                last_whole = False
    except csv.Error as err:
        raise RunDataError(f"{str(path)!r} is not an a3c metrics file ({err})") from None
    if last_whole and not text.endswith(("\n", "\r")):  # cut off: a value may be partial
        rows.pop()
        damaged += 1
    return rows, damaged


class Curve(NamedTuple):
    """A run's finished games in frame order: global frames, training seconds, raw score."""

    frames: list[int]
    wall_s: list[float]
    scores: list[float]


def read_curve(run: Path) -> Curve:
    """Every finished game of a run, in frame order; damaged rows (a live run's half-written
    last row) are left out."""
    rows, _ = read_rows(run / "episodes.csv", ("frames", "score", "wall_s"))
    triples = [(int(float(r["frames"])), float(r["wall_s"]), float(r["score"])) for r in rows]
    triples.sort(key=lambda t: t[0])  # learners report concurrently: nearly sorted
    return Curve(
        [t[0] for t in triples], stitch_wall(t[1] for t in triples), [t[2] for t in triples]
    )


def stitch_wall(wall_s: Iterable[float], jump: float = 60.0) -> list[float]:
    """Training seconds that keep counting across resumes.

    Runs written before checkpoints kept their training time restart `wall_s` near 0 at each
    resume; a drop of more than `jump` seconds is taken as such a restart and the segments are
    joined. Smaller drops are concurrent learners' reports arriving out of order, kept as they are.
    """
    out: list[float] = []
    offset = 0.0
    for wall in wall_s:
        if out and wall + offset < out[-1] - jump:
            offset = out[-1] - wall
        out.append(wall + offset)
    return out


def read_episodes(run: Path) -> tuple[list[int], list[float]]:
    """(global frames, raw score) of every finished game of a run, in frame order."""
    curve = read_curve(run)
    return curve.frames, curve.scores


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

        episodes, train = run_dir / "episodes.csv", run_dir / "train.csv"
        # Read what a resumed run keeps before writing anything, so that files it cannot resume
        # from stop it with everything as it was.
        kept = [
            self._kept_rows(episodes, ("frames", "score"), resume_frames),
            self._kept_rows(train, ("frames",), resume_frames),
        ]
        # The games the kept file holds (None without one): a game whose record was still on
        # its way when the checkpoint was taken is kept and counted, so numbers never repeat.
        self.kept_episodes = len(kept[0]) if episodes.exists() else None
        # purge_step makes TensorBoard discard the old events after the checkpoint: the same
        # cut (frames <= resume_frames kept) as the CSV files'.
        purge = None if resume_frames is None else resume_frames + 1
        self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=purge)
        self._files: list[IO[str]] = []
        self.episodes = self._open_csv(episodes, EPISODE_FIELDS, kept[0])
        self.train = self._open_csv(train, TRAIN_FIELDS, kept[1])
        table = "\n".join(f"| {k} | {v} |" for k, v in config.items())
        self.writer.add_text("config", "| key | value |\n|---|---|\n" + table, 0)
        self.writer.add_text(
            "config_json", "    " + json.dumps(config, indent=2).replace("\n", "\n    "), 0
        )

    @staticmethod
    def _kept_rows(
        path: Path, numeric: tuple[str, ...], resume_frames: int | None
    ) -> list[dict[str, str]]:
        """The rows of a resumed run's file up to its checkpoint (none for a new run)."""
        if resume_frames is None or not path.exists():
            return []
        rows, damaged = read_rows(path, numeric)
        if damaged:  # rewriting drops them: keep the file as it was beside the new one
            shutil.copyfile(path, path.with_name(path.name + ".damaged"))
            log.warning(
                "%s: %d damaged row(s) left out; the file as it was is %s.damaged",
                path,
                damaged,
                path.name,
            )
        return [r for r in rows if int(float(r["frames"])) <= resume_frames]

    def _open_csv(
        self, path: Path, fields: tuple[str, ...], kept: list[dict[str, str]]
    ) -> csv.DictWriter[str]:
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
        for key in TRAINING_STATISTICS:
            if key in record:
                self.writer.add_scalar(f"loss/{key}", record[key], frames)
        self.writer.add_scalar("perf/frames_per_second", record["frames_per_second"], frames)
        self.train.writerow({**record, "frames": frames})

    def health(self, frames: int, record: dict[str, Any]) -> None:
        """A health measurement (HEALTH_FIELDS, updates, wall_s) as its own train.csv row."""
        for key in HEALTH_FIELDS:
            if key in record:
                self.writer.add_scalar(f"health/{key}", record[key], frames)
        self.train.writerow({**record, "frames": frames})

    def flush(self) -> None:
        self.writer.flush()
        for fh in self._files:
            fh.flush()

    def close(self) -> None:
        self.writer.close()
        for fh in self._files:
            fh.close()
