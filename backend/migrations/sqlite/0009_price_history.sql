-- Prices are the server's to judge (issue 15): every price a product has had, from the change
-- position it took effect at, so a till that sold offline at yesterday's price — the price in
-- its cache — is told apart from one that sold below any price it could have known.
CREATE TABLE product_prices (
    product_id     TEXT   NOT NULL REFERENCES products (id),
    from_seq       BIGINT NOT NULL,
    price_centavos BIGINT NOT NULL,
    PRIMARY KEY (product_id, from_seq)
);
INSERT INTO product_prices (product_id, from_seq, price_centavos)
    SELECT id, change_seq, price_centavos FROM products;

-- What a device could have known: the change position its last pull reached (`pulled_seq`),
-- and the one it had reached at its previous push (`price_floor_seq`): the ops of a push were
-- made with a catalog at least that new. A new device starts at the counter's value then.
ALTER TABLE devices ADD COLUMN pulled_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN price_floor_seq BIGINT NOT NULL DEFAULT 0;
