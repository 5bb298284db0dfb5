-- Requests per signing key (ephemeral or account) in the current minute.
CREATE TABLE key_throttles (
    pubkey       BYTEA PRIMARY KEY,
    window_start BIGINT NOT NULL,
    requests     BIGINT NOT NULL
);
