-- The counters keyed by the signing key itself: every request of a new key then writes one
-- page of this table instead of two (a rowid table's row and its key's index).
CREATE TABLE key_throttles_by_key (
    pubkey       BLOB PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO key_throttles_by_key SELECT pubkey, window_start, requests FROM key_throttles;
DROP TABLE key_throttles;
ALTER TABLE key_throttles_by_key RENAME TO key_throttles;
