-- The twin of migrations/sqlite/0005_backup_history.sql (read the comments there).
CREATE TABLE backup_history (
    pubkey    BYTEA NOT NULL,
    version   BIGINT NOT NULL,
    backup    TEXT NOT NULL,
    stored_at BIGINT NOT NULL,
    PRIMARY KEY (pubkey, version)
);
