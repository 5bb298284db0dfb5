-- When the last wrong code for an address came in: the next try waits longer after each one.
ALTER TABLE throttles ADD COLUMN last_failure_at BIGINT NOT NULL DEFAULT 0;
