"""What several test files share: running the `a3c` command as a user would, and typed access
to a server's optimizer statistics and a network's layers."""

import contextlib
import io
import subprocess
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from a3c.model import ActorCritic
    from a3c.optim import SharedRMSprop
    from a3c.server import SharedParameterServer


def run_a3c(*args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`python -m a3c ARGS…` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "a3c", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def call_a3c(*args: str) -> subprocess.CompletedProcess[str]:
    """`a3c ARGS…` in this process (no interpreter or torch start-up: for commands that end
    before any training starts, such as refusals of bad input); output captured as text."""
    from a3c.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
    return subprocess.CompletedProcess(["a3c", *args], code, out.getvalue(), err.getvalue())


def rmsprop(server: "SharedParameterServer") -> "SharedRMSprop":
    """The server's optimizer, asserted to be the RMSprop the test's preset asks for."""
    from a3c.optim import SharedRMSprop

    assert isinstance(server.optimizer, SharedRMSprop)
    return server.optimizer


def trunk_weights(model: "ActorCritic", index: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Weight and bias of the trunk's layer at `index` (atari trunk: 0 conv1, 2 conv2, 5 dense)."""
    from torch import nn

    layer = model.trunk[index]
    assert isinstance(layer, nn.Conv2d | nn.Linear) and layer.bias is not None
    return layer.weight, layer.bias
