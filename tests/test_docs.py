"""The documentation keeps up with the code: every command and option is in docs/cli.md, and
every relative link in the README and docs/ resolves."""

import argparse
import re
from pathlib import Path

from a3c.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_command_and_option_is_in_the_command_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text()
    missing = []
    for name, sub in _subcommands(build_parser()).items():
        if f"a3c {name}" not in reference:
            missing.append(f"a3c {name}")
        for action in sub._actions:
            for option in action.option_strings:
                if (
                    option.startswith("--")
                    and option not in ("--help",)
                    and option not in reference
                ):
                    missing.append(f"a3c {name} {option}")
    assert missing == [], f"docs/cli.md does not mention: {', '.join(missing)}"


def test_relative_links_in_the_docs_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_config_flag_table_is_current() -> None:
    from a3c.cli import config_flags_markdown

    page = (ROOT / "docs" / "cli.md").read_text()
    block = page.split("<!-- config-flags -->\n")[1].split("\n<!-- /config-flags -->")[0]
    assert block == config_flags_markdown(), "regenerate the table in docs/cli.md (see there)"
