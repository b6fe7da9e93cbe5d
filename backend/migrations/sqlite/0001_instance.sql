-- Identity of this server's database: written once, read by operators and by later features
-- (the sync protocol uses the instance id to tell databases apart after a restore).
CREATE TABLE app_instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    instance_id TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);

INSERT INTO app_instance (id, instance_id, created_at)
VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
