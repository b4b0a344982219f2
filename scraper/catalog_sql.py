"""SQL of the catalog migrations for replay tools and outside readers, appended to
``scraper.migrations.MIGRATIONS`` (kept apart so the store module stays small). Append, never edit.
"""

# 5: captures point at one record (response or revisit) as a CDX line does; the payload
# digest finds an earlier identical response to write a revisit instead. Rows from before
# keep record_type NULL: their warc_length spans the whole exchange (scraper/revisit.py)
CAPTURE_RECORDS = """
    ALTER TABLE captures ADD COLUMN record_type TEXT;
    ALTER TABLE captures ADD COLUMN payload_digest TEXT;
    CREATE INDEX captures_url_digest ON captures(url, payload_digest);
"""

# 6: search that datasette and sqlite-utils detect: an external-content FTS5 table over
# columns of ``articles`` (they look for exactly content="articles"), so the body is now a
# column of ``articles`` too, reachable by plain SQL
SEARCH_EXTERNAL_CONTENT = """
    ALTER TABLE articles ADD COLUMN body TEXT;
    UPDATE articles SET body = (
        SELECT json_extract(r.record, '$.body') FROM revisions r
        WHERE r.article_id = articles.id AND r.revision = articles.revision
    );
    DROP TABLE articles_fts;
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, content="articles", content_rowid="rowid",
        tokenize='porter unicode61 remove_diacritics 2'
    );
    INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
"""

# 7: foreign keys declared (SQLite adds them only by rebuilding a table). A URL or capture
# row naming an article that is not indexed loses that link (``scraper check`` indexes such
# articles from their files; the URL is fetched again). ``revisions`` has none: it is the
# history, and may hold an article's record while the index row is being repaired.
FOREIGN_KEYS = """
    CREATE TABLE captures_new (
        id INTEGER PRIMARY KEY,
        article_id TEXT REFERENCES articles(id),
        url TEXT NOT NULL,
        status INTEGER NOT NULL,
        fetched_at TEXT NOT NULL,
        warc_file TEXT NOT NULL,
        warc_offset INTEGER NOT NULL,
        warc_length INTEGER NOT NULL,
        record_id TEXT NOT NULL,
        record_type TEXT,
        payload_digest TEXT
    );
    INSERT INTO captures_new SELECT c.id,
        (SELECT a.id FROM articles a WHERE a.id = c.article_id), c.url, c.status, c.fetched_at,
        c.warc_file, c.warc_offset, c.warc_length, c.record_id, c.record_type, c.payload_digest
        FROM captures c;
    DROP TABLE captures;
    ALTER TABLE captures_new RENAME TO captures;
    CREATE INDEX captures_article ON captures(article_id);
    CREATE INDEX captures_file ON captures(warc_file, warc_offset);
    CREATE INDEX captures_url_digest ON captures(url, payload_digest);
    CREATE TABLE urls_new (
        url TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'article',
        article_id TEXT REFERENCES articles(id),
        state TEXT NOT NULL DEFAULT 'new',
        http_status INTEGER,
        etag TEXT,
        last_modified TEXT,
        first_seen TEXT NOT NULL,
        last_checked TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    INSERT INTO urls_new SELECT u.url, u.source, u.kind,
        (SELECT a.id FROM articles a WHERE a.id = u.article_id), u.state, u.http_status, u.etag,
        u.last_modified, u.first_seen, u.last_checked, u.attempts, u.error FROM urls u;
    DROP TABLE urls;
    ALTER TABLE urls_new RENAME TO urls;
    CREATE INDEX urls_source_state ON urls(source, kind, state);
    CREATE INDEX urls_article ON urls(article_id);
"""

MIGRATIONS = (CAPTURE_RECORDS, SEARCH_EXTERNAL_CONTENT, FOREIGN_KEYS)
