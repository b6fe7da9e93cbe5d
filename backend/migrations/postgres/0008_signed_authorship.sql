-- Signed authorship and bounded clocks (issue 15).
--
-- Each person who signs in on a device registers an Ed25519 public key for that device; every
-- op they make there is signed with it. A key is revoked (never deleted: ops signed before stay
-- checkable) when its person or its device is deactivated; `revoked_ms` is the server's clock
-- then, compared with an op's clamped HLC ("signed before the revocation").
CREATE TABLE device_keys (
    id         TEXT   PRIMARY KEY,
    device_id  TEXT   NOT NULL REFERENCES devices (id),
    user_id    TEXT   NOT NULL REFERENCES users (id),
    public_key TEXT   NOT NULL,
    created_at TEXT   NOT NULL,
    revoked_at TEXT,
    revoked_ms BIGINT
);
CREATE INDEX device_keys_user ON device_keys (user_id);
CREATE INDEX device_keys_device ON device_keys (device_id);

-- A deactivated device's keys are revoked; its facts signed before still land (flagged).
ALTER TABLE devices ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
-- "Reloj adelantado": how far ahead of the server's clock the device's latest op was stamped
-- (0 when it was within the margin) and when that was seen.
ALTER TABLE devices ADD COLUMN clock_ahead_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN clock_checked_at TEXT;

-- Why an applied op needs a manager's look (`autor_revocado`, `sin_firma`, …); NULL otherwise.
ALTER TABLE sync_ops ADD COLUMN flag TEXT;
