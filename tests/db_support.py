"""Tables as earlier releases created them, for the tests that upgrade an old database in place."""

# The jobs table as the first release created it (before the scale columns).
OLD_JOBS_SCHEMA = """
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    exercise      TEXT NOT NULL,
    model         TEXT NOT NULL,
    input_name    TEXT NOT NULL,
    file_name     TEXT NOT NULL DEFAULT '',
    progress      REAL NOT NULL DEFAULT 0,
    stage         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    error_hint    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs(status);
"""
