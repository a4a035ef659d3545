"""What several test files share: running the `a3c` command as a user would."""

import subprocess
import sys
from typing import Any


def run_a3c(*args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`python -m a3c ARGS…` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "a3c", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
