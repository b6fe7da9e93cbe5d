-- Returns and voids (issue: cashier screens): sales-type records naming the sale they undo.
-- Their lines and payments stay positive (pairs back, money out); `kind` gives the sign.
-- Line discounts: `amount` is net of the line's own `discount`.

ALTER TABLE sale_lines ADD COLUMN discount BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0);

ALTER TABLE sales ADD COLUMN kind TEXT NOT NULL DEFAULT 'venta'
    CHECK (kind IN ('venta', 'devolucion', 'cancelacion'));
ALTER TABLE sales ADD COLUMN original_sale_id TEXT REFERENCES sales (id);
ALTER TABLE sales ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX sales_original ON sales (original_sale_id);

-- SQLite cannot alter a CHECK: the movements table is rebuilt with 'devolucion' allowed
-- (nothing references it).
CREATE TABLE stock_movements_new (
    id         TEXT   PRIMARY KEY,
    store_id   TEXT   NOT NULL REFERENCES stores (id),
    product_id TEXT   NOT NULL REFERENCES products (id),
    delta      BIGINT NOT NULL,
    reason     TEXT   NOT NULL
        CHECK (reason IN ('venta', 'devolucion', 'recepcion', 'ajuste', 'traspaso')),
    note       TEXT   NOT NULL DEFAULT '',
    sale_id    TEXT,
    user_id    TEXT   NOT NULL REFERENCES users (id),
    created_at TEXT   NOT NULL
);
INSERT INTO stock_movements_new
    SELECT id, store_id, product_id, delta, reason, note, sale_id, user_id, created_at
    FROM stock_movements;
DROP TABLE stock_movements;
ALTER TABLE stock_movements_new RENAME TO stock_movements;
CREATE INDEX stock_movements_store_product ON stock_movements (store_id, product_id);
