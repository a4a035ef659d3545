"""The same training code, 2 learner processes, must solve a small task within a minute or two."""

import csv
import statistics
from pathlib import Path

from a3c.config import make_config
from a3c.trainer import Trainer

DATA = Path(__file__).parent / "data"


def test_a3c_solves_cartpole(tmp_path: Path) -> None:
    cfg = make_config("seed", DATA / "cartpole.toml")
    assert cfg.workers == 2
    summary = Trainer(cfg, tmp_path / "run").run(time_limit_s=240)
    with open(tmp_path / "run" / "episodes.csv") as fh:
        scores = [float(row["score"]) for row in csv.DictReader(fh)]
    best = max(statistics.mean(scores[i : i + 20]) for i in range(len(scores) - 20))
    # A random policy scores about 22; CartPole counts as solved at 195.
    assert statistics.mean(scores[:20]) < 100
    assert best >= 195, f"best 20-episode mean {best:.1f} after {summary.frames} frames"
