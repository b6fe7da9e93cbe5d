-- The queue screen pages by key (issue 16): ops of one batch share received_at and two devices
-- may share a seq, so the device breaks the last tie; the indexes carry it so the order (and
-- the page boundary) is still read off them, never sorted.
DROP INDEX sync_ops_store_queue;
DROP INDEX sync_ops_queue;
CREATE INDEX sync_ops_store_queue ON sync_ops (store_id, status, received_at, seq, device_id);
CREATE INDEX sync_ops_queue ON sync_ops (status, received_at, seq, device_id);
