-- Every push and pull looks for the device's open sync session by its last activity
-- (`device_id = ? AND ended_at >= ? ORDER BY ended_at DESC`), which the index on started_at
-- could not serve (issue 18).
CREATE INDEX sync_sessions_device_end ON sync_sessions (device_id, ended_at);
