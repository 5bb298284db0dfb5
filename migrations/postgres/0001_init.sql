-- Sigil's schema on PostgreSQL: the twin of migrations/sqlite/0001_init.sql (read the comments
-- there). Flags are 0/1 integers as in SQLite, so the same queries run on both.

CREATE TABLE users (
    email_hash     BYTEA PRIMARY KEY,
    pubkey         BYTEA UNIQUE,
    entropy        BYTEA NOT NULL,
    backup         TEXT,
    backup_version BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE sessions (
    ephemeral_pubkey BYTEA PRIMARY KEY,
    email_hash       BYTEA NOT NULL,
    code_hash        BYTEA,
    attempts         BIGINT NOT NULL DEFAULT 0,
    verified         BIGINT NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    expires_at       BIGINT NOT NULL
);
CREATE INDEX sessions_by_email ON sessions (email_hash);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE throttles (
    email_hash           BYTEA PRIMARY KEY,
    window_start         BIGINT NOT NULL,
    codes_sent           BIGINT NOT NULL,
    last_sent_at         BIGINT NOT NULL,
    failures             BIGINT NOT NULL,
    failure_window_start BIGINT NOT NULL
);

CREATE TABLE seen_events (
    id         BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX seen_events_by_expiry ON seen_events (expires_at);
