"""`python -m a3c` is the `a3c` command."""

from a3c.cli import main

main()
