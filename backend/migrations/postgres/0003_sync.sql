-- PostgreSQL twin of migrations/sqlite/0003_sync.sql (BIGSERIAL for the audit id).
-- The sync service (issue: sync engine core): received ops with their stored answers
-- (exactly-once), conflicts, the live per-model configuration, device sync sessions, and the
-- hash-chained audit log.

CREATE TABLE sync_config (
    model      TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT NOT NULL
);

-- One row per op ever accepted for processing. `result` is the JSON answer given the first
-- time; a replay gets it back. (device_id, seq) and op_id are both unique.
CREATE TABLE sync_ops (
    op_id        TEXT   PRIMARY KEY,
    device_id    TEXT   NOT NULL REFERENCES devices (id),
    seq          BIGINT NOT NULL,
    payload_hash TEXT   NOT NULL,
    author_id    TEXT   NOT NULL,
    store_id     TEXT   NOT NULL,
    model        TEXT   NOT NULL,
    entity_id    TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('applied', 'conflict', 'pending', 'rejected', 'discarded')),
    result       TEXT   NOT NULL,
    op           TEXT   NOT NULL,
    received_at  TEXT   NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX sync_ops_status ON sync_ops (status, store_id);

CREATE TABLE sync_conflicts (
    id          TEXT PRIMARY KEY,
    op_id       TEXT NOT NULL REFERENCES sync_ops (op_id),
    model       TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    record      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('resolved', 'pending')),
    resolved_by TEXT,
    resolved_at TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX sync_conflicts_status ON sync_conflicts (status, store_id);

CREATE TABLE sync_sessions (
    id         TEXT   PRIMARY KEY,
    device_id  TEXT   NOT NULL REFERENCES devices (id),
    user_id    TEXT   NOT NULL,
    store_id   TEXT   NOT NULL,
    started_at TEXT   NOT NULL,
    ended_at   TEXT   NOT NULL,
    pushed     BIGINT NOT NULL DEFAULT 0,
    pulled     BIGINT NOT NULL DEFAULT 0,
    conflicts  BIGINT NOT NULL DEFAULT 0,
    errors     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sync_sessions_device ON sync_sessions (device_id, started_at);

-- Append-only; each entry holds the SHA-256 of the previous one (`prev_hash`) and its own
-- (`hash`, over prev_hash and the entry's canonical JSON). `audit_head` holds the last hash:
-- updating it in every append serialises writers (a row lock on PostgreSQL) and lets the
-- integrity check notice a deleted tail.
CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        TEXT NOT NULL,
    user_id   TEXT,
    device_id TEXT,
    op_id     TEXT,
    model     TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    result    TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (model, entity_id);

CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_id   BIGINT  NOT NULL,
    last_hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Stamp of the last delete/undelete of a synced row (JSON FieldStamp), for update-vs-delete.
ALTER TABLE products ADD COLUMN deleted_stamp TEXT;
ALTER TABLE customers ADD COLUMN deleted_stamp TEXT;
