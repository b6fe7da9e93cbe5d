-- When a device's socket was last heard (issue: real time): the dashboard shows a device as
-- connected while this is recent. Written on connect and on every heartbeat, so it holds
-- across server processes and survives a crash.
ALTER TABLE devices ADD COLUMN last_seen_at TEXT;
