"""The reading room (``scraper web``): a read-only, server-rendered web view of an archive.

readonly.py   open the archive without writing anything; one connection per thread
pages.py      what each page shows, as plain records read from the archive
diff.py       word-level differences between revisions and story versions
params.py     query parameters, checked (a bad one is a 400 page)
timefmt.py    times for readers (KST for publication, UTC for captures)
app.py        routes, security headers, error pages; templates/ and static/ beside it
server.py     run it with uvicorn (the CLI command)
"""
