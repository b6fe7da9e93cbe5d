//! The catalog (`productos.Producto`): one row per shoe variant, plus its search words.

use pronto_shared::{
    api::{
        products::{Product, ProductQuery, ValidProduct},
        Page,
    },
    search,
};
use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{
    db,
    model::{field_versions, RowMeta, WriteAt},
    rows::Rows,
    AppError,
};

/// Wire names of the synced fields, the keys of `field_versions`.
pub const FIELDS: &[&str] = pronto_shared::sync::config::PRODUCT_FIELDS;

const COLUMNS: &str = "p.id, p.sku, p.barcode, p.name, p.brand, p.model, p.color, p.size_tenths, \
                       p.price_centavos, p.image, p.active, p.version";

fn from_row(row: &AnyRow) -> Result<Product, AppError> {
    let id: String = row.try_get("id")?;
    let size: i64 = row.try_get("size_tenths")?;
    Ok(Product {
        id: db::uuid(&id)?,
        sku: row.try_get("sku")?,
        codigo_barras: row.try_get("barcode")?,
        nombre: row.try_get("name")?,
        marca: row.try_get("brand")?,
        modelo: row.try_get("model")?,
        color: row.try_get("color")?,
        talla: size as f64 / 10.0,
        precio: row.try_get("price_centavos")?,
        imagen: row.try_get("image")?,
        activo: row.try_get::<i64, _>("active")? != 0,
        version: row.try_get("version")?,
    })
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Product>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM products p WHERE p.id = $1 AND p.deleted = 0");
    super::one(conn, &sql, id, from_row).await
}

/// Products by id, deleted ones too (with `true`), in one query for a whole pull page.
pub async fn get_many_with_deleted(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<Vec<(Product, bool)>, AppError> {
    let head = format!("SELECT {COLUMNS}, p.deleted FROM products p WHERE p.id IN");
    super::many_with_deleted(conn, &head, ids, from_row).await
}

/// Search by barcode, else SKU, else word prefixes of name/brand/model/color (every word of
/// the query must start some word of the product). Ordered by name then size.
pub async fn search(
    conn: &mut AnyConnection,
    query: &ProductQuery,
) -> Result<Page<Product>, AppError> {
    let paging = query.paging();
    let mut sql = format!("SELECT {COLUMNS} FROM products p WHERE p.deleted = 0");
    let mut binds: Vec<String> = Vec::new();
    if !query.incluir_inactivos {
        sql.push_str(" AND p.active = 1");
    }
    let exact = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    if let Some(code) = exact(&query.codigo_barras) {
        binds.push(code);
        sql.push_str(&format!(" AND p.barcode = ${}", binds.len()));
    } else if let Some(sku) = exact(&query.sku) {
        binds.push(sku.to_uppercase());
        sql.push_str(&format!(" AND p.sku = ${}", binds.len()));
    } else if let Some(q) = exact(&query.q) {
        // Longest words first: the most selective range drives the plan.
        let mut words = search::words(&q);
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        for word in words.into_iter().take(5) {
            binds.push(search::prefix_upper_bound(&word));
            binds.push(word);
            let (upper, lower) = (binds.len() - 1, binds.len());
            sql.push_str(&format!(
                " AND p.id IN (SELECT product_id FROM product_words WHERE word >= ${lower} AND word < ${upper})"
            ));
        }
    }
    sql.push_str(&format!(
        " ORDER BY p.name, p.size_tenths, p.id LIMIT {} OFFSET {}",
        i64::from(paging.per_page) + 1,
        paging.offset()
    ));
    let mut q = sqlx::query(&sql);
    for bind in &binds {
        q = q.bind(bind);
    }
    let rows = q.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(paging.page_of(items))
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the product's ten columns, in table order (`sku` … `active`).
fn bind_fields<'q>(query: Query<'q>, p: &'q ValidProduct) -> Query<'q> {
    query
        .bind(p.sku.as_str())
        .bind(p.barcode.as_str())
        .bind(&p.name)
        .bind(&p.brand)
        .bind(&p.model)
        .bind(&p.color)
        .bind(p.size.tenths())
        .bind(p.price.centavos())
        .bind(p.image.as_deref())
        .bind(i64::from(p.active))
}

/// Inserts a new product at version 1 with change position `seq`.
pub async fn insert(
    conn: &mut AnyConnection,
    id: Uuid,
    p: &ValidProduct,
    w: WriteAt<'_>,
) -> Result<(), AppError> {
    let inserted = sqlx::query(
        "INSERT INTO products (id, sku, barcode, name, brand, model, color, size_tenths, price_centavos, \
         image, active, version, field_versions, deleted, change_seq, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, 0, $13, $14) ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string());
    let inserted = bind_fields(inserted, p)
        .bind(field_versions::created(FIELDS, w.hlc))
        .bind(w.seq)
        .bind(w.at)
        .execute(&mut *conn)
        .await?;
    // A taken id (or SKU, barcode) writes nothing instead of failing the statement: on
    // PostgreSQL a failed statement would abort the whole transaction, and a synced create
    // runs without a savepoint of its own.
    if inserted.rows_affected() == 0 {
        return Err(AppError::Conflict(
            "Ya existe un producto con ese SKU, código de barras o id.".into(),
        ));
    }
    record_price(conn, id, p.price.centavos(), w.seq).await?;
    replace_words(conn, id, p).await
}

/// Writes the row the conflict rule returned: `p` is its fields, validated; `meta` its
/// version, stamps and deleted flag. `price_changed` adds a step to the price history.
pub async fn write(
    conn: &mut AnyConnection,
    id: Uuid,
    p: &ValidProduct,
    meta: &RowMeta,
    price_changed: bool,
    w: WriteAt<'_>,
) -> Result<(), AppError> {
    let update = sqlx::query(
        "UPDATE products SET sku = $1, barcode = $2, name = $3, brand = $4, model = $5, color = $6, \
         size_tenths = $7, price_centavos = $8, image = $9, active = $10, version = $11, \
         field_versions = $12, deleted = $13, deleted_stamp = $14, change_seq = $15, updated_at = $16 \
         WHERE id = $17",
    );
    bind_fields(update, p)
        .bind(meta.version)
        .bind(&meta.field_versions)
        .bind(i64::from(meta.deleted))
        .bind(meta.deleted_stamp.as_deref())
        .bind(w.seq)
        .bind(w.at)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(|err| {
            db::on_unique(err, "Ya existe un producto con ese SKU o código de barras.")
        })?;
    if price_changed {
        record_price(conn, id, p.price.centavos(), w.seq).await?;
    }
    replace_words(conn, id, p).await
}

/// Keeps the price history the sale rule judges by (`approval::lowest_known`): `price` holds
/// from change position `seq` on.
async fn record_price(
    conn: &mut AnyConnection,
    id: Uuid,
    price: i64,
    seq: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO product_prices (product_id, from_seq, price_centavos) VALUES ($1, $2, $3) \
         ON CONFLICT (product_id, from_seq) DO UPDATE SET price_centavos = excluded.price_centavos",
    )
    .bind(id.to_string())
    .bind(seq)
    .bind(price)
    .execute(conn)
    .await?;
    Ok(())
}

async fn replace_words(
    conn: &mut AnyConnection,
    id: Uuid,
    p: &ValidProduct,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM product_words WHERE product_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    // One multi-row INSERT for all the words, not one statement each.
    let mut words = Rows::new("product_words", &["word", "product_id"]);
    for word in search::product_words(&p.name, &p.brand, &p.model, &p.color) {
        words.push(vec![word.into(), id.to_string().into()]);
    }
    words.flush(conn).await?;
    Ok(())
}

/// The row as the conflict rules see it, deleted or not: `(product, deleted, field stamps,
/// deleted stamp)`.
pub async fn get_for_sync(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<(Product, bool, String, Option<String>)>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS}, p.deleted, p.field_versions, p.deleted_stamp FROM products p WHERE p.id = $1"
    );
    super::for_sync(conn, &sql, id, from_row).await
}
