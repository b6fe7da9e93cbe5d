-- Returns and voids (issue: cashier screens): sales-type records naming the sale they undo.
-- Their lines and payments stay positive (pairs back, money out); `kind` gives the sign.
-- Line discounts: `amount` is net of the line's own `discount`.

ALTER TABLE sale_lines ADD COLUMN discount BIGINT NOT NULL DEFAULT 0 CHECK (discount >= 0);

ALTER TABLE sales
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'venta'
        CHECK (kind IN ('venta', 'devolucion', 'cancelacion')),
    ADD COLUMN original_sale_id TEXT REFERENCES sales (id),
    ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX sales_original ON sales (original_sale_id);

ALTER TABLE stock_movements
    DROP CONSTRAINT stock_movements_reason_check,
    ADD CONSTRAINT stock_movements_reason_check
        CHECK (reason IN ('venta', 'devolucion', 'recepcion', 'ajuste', 'traspaso'));
