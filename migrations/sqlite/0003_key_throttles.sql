-- Requests per signing key (ephemeral or account) in the current minute.
CREATE TABLE key_throttles (
    pubkey       BLOB PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL
) STRICT;
