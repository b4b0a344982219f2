"""``scraper rebuild-index``: make index.sqlite again from the WARC and article files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from scraper.cli.common import EXIT_FAILED, EXIT_OK, config_from
from scraper.rebuild import ProgressFn, RebuildSummary, rebuild_index

DESCRIPTION = """\
Rebuild the index (index.sqlite) from what is on disk, when it is damaged ("the index is
damaged … run: scraper rebuild-index") or lost. The WARC files give every capture with its
offset; each captured page is re-extracted with the current parsers, in capture order, and a
change of content hash makes a new revision; the article JSON files give each article's latest
record, its story id and the URLs it was seen under; the search index is refilled.

Not on disk, so not rebuilt: the service's run history, the robots.txt cache and URLs that
were found but never archived (the next crawl finds them again).

The new index is built in a temp directory and renamed in at the end; the old one and its
-wal/-shm files are kept as index.sqlite.damaged-<time> (or .replaced-<time>), never deleted.
Stop `scraper serve` and crawls first. Exit 0 when every file was read, 1 when some WARC
record or article file could not be (listed on stderr; see `scraper check --repair`)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rebuild-index",
        help="rebuild index.sqlite from the WARC files and article JSON files",
        description=DESCRIPTION,
        epilog="examples:\n  scraper rebuild-index\n  scraper -q rebuild-index && scraper check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=cmd_rebuild_index)


_PHASES = {
    "warc": "reading WARC files",
    "captures": "re-extracting captures",
    "articles": "indexing articles",
}


@contextmanager
def progress_bar() -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr when it is a terminal (as ``crawl`` shows)."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=sys.stderr),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield update


def run_rebuild(root: Path) -> RebuildSummary:
    """Rebuild with a progress bar; the unreadable parts on stderr, the summary on stdout."""
    with progress_bar() as progress:
        summary = rebuild_index(root, progress=progress)
    for problem in summary.unreadable:
        print(f"error: unreadable: {problem}", file=sys.stderr)
    for name in summary.moved_aside:
        print(f"kept the old index as {name}")
    print(summary.line())
    sys.stdout.flush()
    return summary


def cmd_rebuild_index(args: argparse.Namespace) -> int:
    config = config_from(args)
    summary = run_rebuild(Path(config.archive.path))
    return EXIT_FAILED if summary.unreadable else EXIT_OK
