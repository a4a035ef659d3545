"""A3C for Atari in PyTorch. `from a3c import Agent` loads a trained agent (see a3c.agent)."""

from typing import Any

__all__ = ["Agent"]


def __getattr__(name: str) -> Any:
    # Lazy: `import a3c` (and the command line) should not pay for torch until an Agent is used.
    if name == "Agent":
        from a3c.agent import Agent

        return Agent
    raise AttributeError(f"module 'a3c' has no attribute {name!r}")
