"""History: captures made before the archive existed.

``import`` reads WARC/WACZ files made by other tools (importer, reader); ``backfill`` asks a
Wayback-style archive (backfill, cdx); both store through ``ingest.store_capture``.
``backfill --via site`` walks a source's own evidenced paged listings (sitewalk) and fetches
the articles as ``scraper fetch`` does (``pipeline.archive_article``).
``coverage`` shows per month what the archive holds.
"""
