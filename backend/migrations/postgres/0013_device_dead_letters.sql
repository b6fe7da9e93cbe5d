-- Ops stranded in a device's dead letters (issue 17): refused for good, they exist only on the
-- device. It reports its whole list after each sync (each report replaces the last), so the
-- manager's queue screen can list what the tills could not deliver.
CREATE TABLE device_dead_letters (
    device_id   TEXT   NOT NULL REFERENCES devices (id),
    op_id       TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    model       TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    code        TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    reported_at TEXT   NOT NULL,
    reported_by TEXT   NOT NULL REFERENCES users (id),
    PRIMARY KEY (device_id, op_id)
);
