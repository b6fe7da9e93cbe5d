-- Identity of this server's database: written once, read by operators and by later features
-- (the sync protocol uses the instance id to tell databases apart after a restore).
CREATE TABLE app_instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    instance_id TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);

INSERT INTO app_instance (id, instance_id, created_at)
VALUES (1, md5(random()::text || clock_timestamp()::text),
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
