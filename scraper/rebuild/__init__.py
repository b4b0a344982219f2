"""``scraper rebuild-index``: the index is a cache of what is on disk, and can be made again.

Rebuilt, and from where:
 - captures: every response record under ``warc/`` that the current parsers read as an
   article, with its file, offset and length. The article a response belongs to is what the
   response extracts as; the metadata record written beside it gives the canonical URL it was
   fetched under. Two metadata formats are read: linked by ``WARC-Refers-To`` /
   ``WARC-Concurrent-To`` (the response's ``WARC-Record-ID``), or, from older writers,
   following its response with the same ``WARC-Target-URI``. Without one, the URL is
   canonicalized from the response's target URI.
 - revisions: each article's captures in capture order (``WARC-Date``, then file and offset),
   each re-extracted; a change of ``content_hash`` is a new revision. The article's JSON file
   is its latest revision, as recorded. An article whose file is missing gets one written
   from its newest capture.
 - articles and the search index: from the JSON files; story ids as recorded in them
   (scraper/lineage.py for a record without one).
 - urls: each article URL and every URL it was seen under, state ``done``, with the ETag and
   Last-Modified of its newest capture (so the next recheck is a conditional GET again).

Not on disk, so not rebuilt: the service's run history, the robots.txt cache, and URLs that
were discovered but never archived (``new``, ``failed``, ``gone``, ``rejected``); the next
crawl finds them again from the feeds.

Safety: the new index is built in a temp directory inside the archive and renamed in at the
end, so a kill mid-rebuild leaves the old state (the temp directory is removed by the next
rebuild). The old index and its ``-wal``/``-shm`` are kept beside it as
``index.sqlite.damaged-<time>`` (or ``.replaced-<time>`` when it was readable), never
deleted. It refuses to run while a writer (``serve``, a crawl) has a WARC file open.
"""

from scraper.rebuild.index import rebuild_index
from scraper.rebuild.summary import ProgressFn, RebuildSummary

__all__ = ["ProgressFn", "RebuildSummary", "rebuild_index"]
