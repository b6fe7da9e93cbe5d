-- Retention of answered ops (issue 16): `sync_ops` grew by one row per op forever.
-- acked_seq: the device has settled every op up to here (its pushes start after it).
ALTER TABLE devices ADD COLUMN acked_seq BIGINT NOT NULL DEFAULT 0;
-- What stays of a compacted op: enough to answer a replay of it as a duplicate and to refuse
-- another op on its seq or with its id (the op's body and answer are gone).
CREATE TABLE sync_ops_archive (
    op_id        TEXT   PRIMARY KEY,
    device_id    TEXT   NOT NULL REFERENCES devices (id),
    seq          BIGINT NOT NULL,
    payload_hash TEXT   NOT NULL,
    UNIQUE (device_id, seq)
);
