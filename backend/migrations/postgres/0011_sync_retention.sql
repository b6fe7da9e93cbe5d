-- Retention of answered ops (issue 16): `sync_ops` grew by one row per op forever.
-- acked_seq: the device has settled every op up to here (its pushes start after it).
-- compacted_seq / compacted_until_ms: applied ops up to this seq, made (by the device's clock)
-- no later than this time, were compacted away; a replay of one is still a duplicate.
ALTER TABLE devices ADD COLUMN acked_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN compacted_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN compacted_until_ms BIGINT NOT NULL DEFAULT 0;
