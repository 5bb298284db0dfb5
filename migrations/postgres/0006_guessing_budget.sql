-- Limits that knowing an address cannot turn against its owner (issue 25 §3): a guessing
-- budget that refills continuously instead of hourly lockouts, and the latest code per address,
-- shared by requests within the resend gap. The old hourly counters mean nothing under the new
-- rules, so the table starts again; pending codes were bound to their session key and are now
-- bound to the address, so they stop working (their users ask for a new one).
DROP TABLE throttles;
CREATE TABLE throttles (
    -- An address's keyed hash, or a mailbox's (the address without its +tag; another key).
    email_hash          BYTEA PRIMARY KEY,
    last_sent_at        BIGINT NOT NULL,
    sends_unused        BIGINT NOT NULL,
    budget_empty_at     BIGINT NOT NULL,
    wrong_since_success BIGINT NOT NULL,
    code_hash           BYTEA,
    code_long           BIGINT NOT NULL,
    code_expires_at     BIGINT NOT NULL
);

-- 0 for a 6-digit code, 1 for a 16-digit one: how a wrong guess at it is counted.
ALTER TABLE sessions ADD COLUMN code_long BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET code_hash = NULL WHERE verified = 0;
