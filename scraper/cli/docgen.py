"""Write the CLI reference (docs/cli.md) from the parser's own ``--help`` texts.

Run ``make docs``; a test fails when docs/cli.md and ``--help`` disagree.
"""

from __future__ import annotations

import argparse
import os
import sys


def render() -> str:
    from scraper.cli import build_parser

    os.environ["COLUMNS"] = "100"  # stable wrapping, whatever the terminal
    parser = build_parser()
    parts = [
        "# CLI reference",
        "",
        "Generated from `scraper --help` by `make docs`; do not edit by hand.",
        "",
        "## scraper",
        "",
        "```",
        parser.format_help().rstrip(),
        "```",
    ]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        parts += ["", f"## scraper {name}", "", "```", command.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
