"""The index's schema: SQL migrations applied in order by ``scraper.store.Archive`` (kept apart
so the store module holds the code, this one the SQL). Append, never edit.
"""

from __future__ import annotations

from scraper import catalog_sql

# Ordered migrations; the index's user_version is the number applied. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        native_id TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        published_at TEXT,
        updated_at TEXT,
        section TEXT,
        parser TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        path TEXT NOT NULL,
        first_fetched_at TEXT,
        fetched_at TEXT,
        story_id TEXT
    );
    CREATE INDEX articles_source_published ON articles(source, published_at);
    CREATE TABLE revisions (
        article_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        fetched_at TEXT,
        warc_file TEXT,
        warc_offset INTEGER,
        record TEXT NOT NULL,
        PRIMARY KEY (article_id, revision)
    );
    CREATE TABLE captures (
        id INTEGER PRIMARY KEY,
        article_id TEXT,
        url TEXT NOT NULL,
        status INTEGER NOT NULL,
        fetched_at TEXT NOT NULL,
        warc_file TEXT NOT NULL,
        warc_offset INTEGER NOT NULL,
        warc_length INTEGER NOT NULL,
        record_id TEXT NOT NULL
    );
    CREATE INDEX captures_article ON captures(article_id);
    CREATE TABLE urls (
        url TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'article',
        article_id TEXT,
        state TEXT NOT NULL DEFAULT 'new',
        http_status INTEGER,
        etag TEXT,
        last_modified TEXT,
        first_seen TEXT NOT NULL,
        last_checked TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX urls_source_state ON urls(source, kind, state);
    """,
    # 2: the service's state (scraper/state.py): one row per scheduled crawl, one per source
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        result TEXT NOT NULL DEFAULT 'running',
        discovered INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        revised INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        method TEXT,
        error TEXT
    );
    CREATE INDEX runs_source_started ON runs(source, started_at);
    CREATE TABLE service_sources (
        source TEXT PRIMARY KEY,
        next_run_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        backoff_until TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 3: robots.txt per origin (scheme://host:port), re-read after a day (scraper/polite.py)
    """
    CREATE TABLE robots (
        origin TEXT PRIMARY KEY,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        fetched_at TEXT NOT NULL
    );
    """,
    # 4: full-text search (FTS5, rowid = articles.rowid), lineage and stats columns, backfilled
    """
    ALTER TABLE articles ADD COLUMN n_authors INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN n_images INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN body_chars INTEGER NOT NULL DEFAULT 0;
    UPDATE articles SET
        n_authors = (SELECT json_array_length(r.record, '$.authors') FROM revisions r
                     WHERE r.article_id = articles.id AND r.revision = articles.revision),
        n_images = (SELECT json_array_length(r.record, '$.images') FROM revisions r
                    WHERE r.article_id = articles.id AND r.revision = articles.revision),
        body_chars = (SELECT length(json_extract(r.record, '$.body')) FROM revisions r
                      WHERE r.article_id = articles.id AND r.revision = articles.revision),
        story_id = coalesce(story_id, id);
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    INSERT INTO articles_fts (rowid, title, body)
        SELECT a.rowid, a.title, json_extract(r.record, '$.body') FROM articles a
        JOIN revisions r ON r.article_id = a.id AND r.revision = a.revision;
    CREATE INDEX articles_story ON articles(story_id);
    CREATE INDEX articles_published ON articles(published_at);
    CREATE INDEX urls_article ON urls(article_id);
    CREATE INDEX captures_file ON captures(warc_file, warc_offset);
    """,
    # 5-7: captures point at one record; search datasette/sqlite-utils detect; foreign keys
    *catalog_sql.MIGRATIONS,
    # 8: history (scraper/history/): import cursors per WARC file, payload digests of imported
    # captures (dedupe, revisit resolution), backfill listing cursors and captures to fetch
    """
    CREATE TABLE IF NOT EXISTS import_files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        next_offset INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS history_payloads (
        url TEXT NOT NULL,
        digest TEXT NOT NULL,
        warc_digest TEXT,
        article_id TEXT,
        record_id TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        warc_file TEXT NOT NULL,
        warc_offset INTEGER NOT NULL,
        PRIMARY KEY (url, digest)
    );
    CREATE INDEX IF NOT EXISTS history_payloads_record ON history_payloads(record_id);
    CREATE INDEX IF NOT EXISTS history_payloads_warc_digest ON history_payloads(warc_digest);
    CREATE INDEX IF NOT EXISTS captures_record ON captures(record_id);
    CREATE TABLE IF NOT EXISTS backfill_jobs (
        source TEXT NOT NULL,
        via TEXT NOT NULL,
        since TEXT NOT NULL,
        until TEXT NOT NULL,
        pattern TEXT NOT NULL,
        resume_key TEXT,
        pages INTEGER NOT NULL DEFAULT 0,
        listed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (source, via, since, until, pattern)
    );
    CREATE TABLE IF NOT EXISTS backfill_captures (
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        digest TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        original TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'todo',
        error TEXT,
        PRIMARY KEY (source, url, digest)
    );
    CREATE INDEX IF NOT EXISTS backfill_captures_state
        ON backfill_captures(source, state, timestamp);
    """,
    # 9: ``backfill --via site`` (scraper/history/sitewalk.py): one cursor per listing walked
    # (source, window, listing URL with its category code) and the article URLs it found
    """
    CREATE TABLE IF NOT EXISTS site_walks (
        source TEXT NOT NULL,
        since TEXT NOT NULL,
        until TEXT NOT NULL,
        listing TEXT NOT NULL,
        last_page INTEGER NOT NULL DEFAULT 0,
        oldest TEXT,
        done TEXT,
        PRIMARY KEY (source, since, until, listing)
    );
    CREATE TABLE IF NOT EXISTS site_walk_urls (
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        day TEXT NOT NULL,
        listing TEXT NOT NULL,
        page INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'todo',
        error TEXT,
        PRIMARY KEY (source, url)
    );
    CREATE INDEX IF NOT EXISTS site_walk_urls_state ON site_walk_urls(source, state, day);
    """,
)
