"""The terminal: the live progress line and how counts and durations are written."""

from __future__ import annotations

import sys
import time
from typing import Any


def format_count(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e3 else f"{n:.0f}"


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressLine:
    """One live status line on a terminal; a line every 30 s when output goes to a file."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0
        self.open_line = False  # a live line is showing, not yet ended
        self.warning: str | None = None  # the health warning last shown
        self.warned_at = 0.0

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        # A health warning gets its own line at once, and again at most every 10 minutes while
        # its figures change (a dying layer loses units one measurement at a time).
        new = p.health_warning
        if new != self.warning and (self.warning is None or now - self.warned_at >= 600):
            self.warning, self.warned_at = new, now
            if new is not None:
                self.done()
                print(f"a3c: {new}", file=sys.stderr, flush=True)
        if not self.tty and now - self.last_print < 30:
            return
        self.last_print = now
        eta = "-"
        if p.frames_per_second > 0:
            eta = format_duration((p.total_frames - p.frames) / p.frames_per_second)
        score = "-" if p.recent_mean_score is None else f"{p.recent_mean_score:.1f}"
        line = (
            f"frames {format_count(p.frames)}/{format_count(p.total_frames)} "
            f"({100 * p.frames / p.total_frames:.1f}%) | {p.frames_per_second:,.0f} fps | "
            f"{p.episodes} episodes | score (last 100) {score} | "
            f"elapsed {format_duration(p.elapsed_s)} | ETA {eta}"
        )
        if self.tty:
            print("\r" + line.ljust(120), end="", file=sys.stderr, flush=True)
            self.open_line = True
        else:
            print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        """End the live line (if one is showing) so that the next message starts a line."""
        if self.open_line:
            print(file=sys.stderr)
            self.open_line = False
