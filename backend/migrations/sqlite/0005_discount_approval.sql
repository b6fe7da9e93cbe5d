-- A manager's approval of discounts above the store's limit (issue: cashier screens).
-- `approval_key` is argon2id(PIN, approval_salt), hex: it checks the signature a till puts on
-- an approved sale. Devices only ever get the salt and SHA-256 of the key.

ALTER TABLE stores ADD COLUMN discount_limit_pct BIGINT NOT NULL DEFAULT 15
    CHECK (discount_limit_pct BETWEEN 0 AND 100);
ALTER TABLE users ADD COLUMN approval_salt TEXT;
ALTER TABLE users ADD COLUMN approval_key TEXT;
ALTER TABLE sales ADD COLUMN approval TEXT NOT NULL DEFAULT 'no_requerida'
    CHECK (approval IN ('no_requerida', 'autorizada', 'sin_autorizacion'));
ALTER TABLE sales ADD COLUMN approved_by TEXT REFERENCES users (id);
