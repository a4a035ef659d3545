"""Where a result came from: the commit of the code that produced it, for its result files."""

from __future__ import annotations

import subprocess
from pathlib import Path


def commit() -> str | None:
    """The short hash of the checkout holding experiments/; None outside a git checkout (a
    copy of the scripts), so that a result is written without one rather than lost."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None
