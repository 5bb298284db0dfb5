-- Sigil's schema. No column holds an email address, a code or a password: addresses and codes
-- appear only as HMACs under a key kept outside the database (email-hash.key), so a stolen
-- database cannot even be searched for a known address.

-- One row per verified address. pubkey and backup stay NULL between verify_code and activate.
CREATE TABLE users (
    email_hash     BLOB PRIMARY KEY NOT NULL,
    pubkey         BLOB UNIQUE,
    -- Per-account randomness salting the client's Argon2id; not secret from the server.
    entropy        BLOB NOT NULL,
    -- Opaque envelope JSON; the server cannot decrypt it.
    backup         TEXT,
    -- Compare-and-swap counter: a stale offline change can never overwrite a newer one.
    backup_version INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- One row per code request, keyed by the ephemeral key that signs the session's requests.
CREATE TABLE sessions (
    ephemeral_pubkey BLOB PRIMARY KEY NOT NULL,
    email_hash       BLOB NOT NULL,
    -- NULL once the code was used: codes are single-use.
    code_hash        BLOB,
    attempts         INTEGER NOT NULL DEFAULT 0,
    verified         INTEGER NOT NULL DEFAULT 0,
    expires_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_email ON sessions (email_hash);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Per-address counters. Kept apart from sessions so a new code does not reset failures.
CREATE TABLE throttles (
    email_hash           BLOB PRIMARY KEY NOT NULL,
    window_start         INTEGER NOT NULL,
    codes_sent           INTEGER NOT NULL,
    last_sent_at         INTEGER NOT NULL,
    failures             INTEGER NOT NULL,
    failure_window_start INTEGER NOT NULL
) STRICT;

-- Request ids seen within the created_at window: a replayed event is refused. Pruned after.
CREATE TABLE seen_events (
    id         BLOB PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX seen_events_by_expiry ON seen_events (expires_at);
