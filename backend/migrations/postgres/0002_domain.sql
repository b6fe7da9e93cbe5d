-- Stores, people, devices, the catalog, customers, stock and sales (issue: domain/auth).
-- PostgreSQL twin of migrations/sqlite/0002_domain.sql; differs only where noted (BIGSERIAL,
-- and COLLATE "C" on columns searched by prefix ranges, so ranges compare bytes as SQLite does).
-- Portable types only (see docs/ARCHITECTURE.md): ids are UUID text, money is integer
-- centavos, sizes are integer tenths, instants are RFC 3339 text or epoch milliseconds.
--
-- Synced rows (products, customers, stock, sales) carry what the sync protocol needs:
--   version         the row's server version, +1 on every change
--   field_versions  JSON object {field: version at which it last changed} (conflict checks)
--   deleted         tombstone (0/1): deletes are kept so devices learn of them
-- Flags are BIGINT 0/1, not BOOLEAN: sqlx's Any driver cannot decode SQLite booleans.
--   change_seq      position in the one global change sequence (change_counter)

CREATE TABLE change_counter (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT  NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);

CREATE TABLE stores (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('cajero', 'gerente', 'admin')),
    store_id      TEXT    NOT NULL REFERENCES stores (id),
    active        BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TEXT    NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT   PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES users (id),
    created_ms   BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id       BIGSERIAL PRIMARY KEY,
    username TEXT    NOT NULL,
    ip       TEXT    NOT NULL,
    at_ms    BIGINT  NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (username, at_ms);
CREATE INDEX login_failures_ip ON login_failures (ip, at_ms);

CREATE TABLE devices (
    id            TEXT   PRIMARY KEY,
    store_id      TEXT   NOT NULL REFERENCES stores (id),
    code          TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    registered_by TEXT   NOT NULL REFERENCES users (id),
    created_at    TEXT   NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (store_id, code)
);

CREATE TABLE products (
    id             TEXT    PRIMARY KEY,
    sku            TEXT    NOT NULL UNIQUE,
    barcode        TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    brand          TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    color          TEXT    NOT NULL,
    size_tenths    BIGINT  NOT NULL CHECK (size_tenths BETWEEN 220 AND 300),
    price_centavos BIGINT  NOT NULL CHECK (price_centavos > 0),
    image          TEXT,
    active         BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    version        BIGINT  NOT NULL,
    field_versions TEXT    NOT NULL,
    deleted        BIGINT  NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    change_seq     BIGINT  NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX products_change_seq ON products (change_seq);

-- One row per word of a product's searchable text (name, brand, model, color), folded to
-- lower case without accents, so "oxf" finds "Zapato Oxford" with an index range scan.
CREATE TABLE product_words (
    word       TEXT COLLATE "C" NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id),
    PRIMARY KEY (word, product_id)
);
CREATE INDEX product_words_product ON product_words (product_id);

CREATE TABLE customers (
    id             TEXT    PRIMARY KEY,
    name           TEXT    NOT NULL,
    name_folded    TEXT    COLLATE "C" NOT NULL,
    phone          TEXT    COLLATE "C",
    email          TEXT    COLLATE "C",
    rfc            TEXT,
    points         BIGINT  NOT NULL DEFAULT 0,
    notes          TEXT    NOT NULL DEFAULT '',
    version        BIGINT  NOT NULL,
    field_versions TEXT    NOT NULL,
    deleted        BIGINT  NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    change_seq     BIGINT  NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX customers_name ON customers (name_folded);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_email ON customers (email);
CREATE INDEX customers_change_seq ON customers (change_seq);

CREATE TABLE stock (
    store_id   TEXT   NOT NULL REFERENCES stores (id),
    product_id TEXT   NOT NULL REFERENCES products (id),
    quantity   BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    change_seq BIGINT NOT NULL,
    updated_at TEXT   NOT NULL,
    PRIMARY KEY (store_id, product_id)
);
CREATE INDEX stock_change_seq ON stock (change_seq);
CREATE INDEX stock_negative ON stock (store_id, quantity);

CREATE TABLE stock_movements (
    id         TEXT   PRIMARY KEY,
    store_id   TEXT   NOT NULL REFERENCES stores (id),
    product_id TEXT   NOT NULL REFERENCES products (id),
    delta      BIGINT NOT NULL,
    reason     TEXT   NOT NULL CHECK (reason IN ('venta', 'recepcion', 'ajuste', 'traspaso')),
    note       TEXT   NOT NULL DEFAULT '',
    sale_id    TEXT,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    created_at TEXT   NOT NULL
);
CREATE INDEX stock_movements_store_product ON stock_movements (store_id, product_id);

CREATE TABLE folio_counters (
    store_id    TEXT   NOT NULL REFERENCES stores (id),
    device_code TEXT   NOT NULL,
    value       BIGINT NOT NULL,
    PRIMARY KEY (store_id, device_code)
);

CREATE TABLE sales (
    id           TEXT   PRIMARY KEY,
    folio        TEXT   NOT NULL UNIQUE,
    store_id     TEXT   NOT NULL REFERENCES stores (id),
    device_id    TEXT   REFERENCES devices (id),
    cashier_id   TEXT   NOT NULL REFERENCES users (id),
    customer_id  TEXT   REFERENCES customers (id),
    payment_kind TEXT   NOT NULL CHECK (payment_kind IN ('efectivo', 'tarjeta', 'mixto')),
    subtotal     BIGINT NOT NULL,
    discount     BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    paid         BIGINT NOT NULL,
    change_due   BIGINT NOT NULL,
    created_at   TEXT   NOT NULL,
    day          TEXT   NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1,
    change_seq   BIGINT NOT NULL
);
CREATE INDEX sales_store_day ON sales (store_id, day);
CREATE INDEX sales_change_seq ON sales (change_seq);

CREATE TABLE sale_lines (
    sale_id     TEXT   NOT NULL REFERENCES sales (id),
    line_no     BIGINT NOT NULL,
    product_id  TEXT   NOT NULL REFERENCES products (id),
    sku         TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    unit_price  BIGINT NOT NULL CHECK (unit_price > 0),
    amount      BIGINT NOT NULL,
    PRIMARY KEY (sale_id, line_no)
);

CREATE TABLE sale_payments (
    sale_id TEXT   NOT NULL REFERENCES sales (id),
    line_no BIGINT NOT NULL,
    method  TEXT   NOT NULL CHECK (method IN ('efectivo', 'tarjeta')),
    amount  BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (sale_id, line_no)
);
