"""``scraper rebuild-index``: the index is a cache of what is on disk, and can be made again.

Rebuilt, and from where:
 - captures: one row per ``response`` or ``revisit`` record under ``warc/``, as a fetch writes
   it (``Archive.save``, ``Archive.add_capture``): the URL that answered (the record's target),
   its file, offset and length (that record alone), record id, type and
   ``WARC-Payload-Digest``. Redirect hops (3xx responses) are archived but get no row, as when
   fetched. A response with neither metadata nor an article URL is discovery evidence
   (robots.txt, a feed, a sitemap, a section page): a row without article. The others are
   re-extracted with the current parsers; a revisit with the body of the response its
   ``WARC-Refers-To`` names, in any file. The metadata record beside a response names the
   URL it was fetched under (``requested_url``, else ``canonical_url``). Metadata formats read:
   linked by ``WARC-Concurrent-To`` / ``WARC-Refers-To`` (the response's ``WARC-Record-ID``;
   target ``urn:x-scraper:article:<id>`` now), or, from older writers, following its
   response with the same ``WARC-Target-URI``. Without one, the URL is canonicalized from the
   response's target URI. A page that no longer reads as an article gets no row (as a fetch
   whose extraction failed).
 - revisions: each article's captures in capture order (``WARC-Date``, then file and offset),
   each re-extracted; a change of ``content_hash`` is a new revision. The article's JSON file
   is its latest revision, as recorded. An article whose file is missing gets one written
   from its newest capture. A revision points at the response holding its body (for a
   revisit, the original), as saves do.
 - articles (with ``body``) and the external-content search index: from the JSON files;
   story ids as recorded in them (scraper/lineage.py for a record without one).
 - urls: each article URL and every URL it was seen under, state ``done``, with the ETag and
   Last-Modified of its newest capture (so the next recheck is a conditional GET again).

Not on disk, so not rebuilt: the service's run history, the robots.txt cache, the ``urls``
rows of feeds, sitemaps and section pages (their ETags), and URLs that were discovered but
never archived (``new``, ``failed``, ``gone``, ``rejected``); the next crawl finds them
again from the feeds.

Safety: the new index is built in a temp directory inside the archive and renamed in at the
end, so a kill mid-rebuild leaves the old state (the temp directory is removed by the next
rebuild). The old index and its ``-wal``/``-shm`` are kept beside it as
``index.sqlite.damaged-<time>`` (or ``.replaced-<time>`` when it was readable), never
deleted. It refuses to run while a writer (``serve``, a crawl) has a WARC file open.
"""

from scraper.rebuild.index import rebuild_index
from scraper.rebuild.summary import ProgressFn, RebuildSummary

__all__ = ["ProgressFn", "RebuildSummary", "rebuild_index"]
