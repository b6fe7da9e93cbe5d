-- How many live sockets a device has (connect +1, close −1), so the dashboard shows it
-- disconnected the moment its socket closes instead of a minute later. A server that dies
-- leaves its count behind; the dashboard also wants `last_seen_at` recent, which nobody
-- stamps once the socket is gone. Heartbeats stamp `last_seen_at` in one batched UPDATE per
-- server process (`presence.rs`).
ALTER TABLE devices ADD COLUMN sockets BIGINT NOT NULL DEFAULT 0;
