"""What every command shares: exit statuses, the one-line failure, the config's defaults."""

from __future__ import annotations

import sys
from typing import NoReturn

from a3c.config import Config

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
DEFAULTS = Config()


def fail(message: str) -> NoReturn:
    """End the command with one line naming what was wrong, and exit status 2."""
    print(f"a3c: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
