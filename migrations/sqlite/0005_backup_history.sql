-- Earlier backups of each account: a backup the server accepted but the password cannot open (a
-- client's bug) must not lose the key. The previous three versions are kept (store/accounts.rs);
-- the account's current backup stays in users.
CREATE TABLE backup_history (
    pubkey    BLOB NOT NULL,
    version   INTEGER NOT NULL,
    backup    TEXT NOT NULL,
    -- When this version was stored (users.updated_at at the time).
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (pubkey, version)
) STRICT;
