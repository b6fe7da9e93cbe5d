//! The cache of synced records and the lookups the screens make offline: products and stock
//! from the in-memory catalog (`catalog.rs`), customers by name or phone and sales by folio or
//! original sale from their IndexedDB stores.

use pronto_shared::{
    catalog, search,
    sync::config::{CLIENTE, VENTA},
};
use serde_json::{value::RawValue, Value};
use uuid::Uuid;
use wasm_bindgen::JsValue;
use web_sys::IdbKeyRange;

use super::{catalog::append, results, LocalStore};
use crate::local_db::{record, stores, text, DbError};

/// The cache store of a synced model kept one record per entity (the catalog's models are
/// not: see `catalog.rs`).
pub fn cache_store(model: &str) -> Option<&'static str> {
    match model {
        CLIENTE => Some(stores::CUSTOMERS),
        VENTA => Some(stores::SALES),
        _ => None,
    }
}

/// A parsed record from the catalog's JSON; `None` for a record the catalog lacks.
fn parsed_one(found: Option<&str>) -> Option<Value> {
    serde_json::from_str(found?).ok()
}

/// Parsed records from the catalog's JSON.
fn parsed(found: Vec<&str>) -> Vec<Value> {
    found
        .into_iter()
        .filter_map(|json| parsed_one(Some(json)))
        .collect()
}

fn field<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The stored form of a cached record: id, version, the JSON, and the indexed fields.
pub fn cache_record(model: &str, id: Uuid, version: i64, data: &Value) -> Result<JsValue, JsValue> {
    let mut fields = vec![
        ("id", JsValue::from_str(&id.to_string())),
        ("version", JsValue::from_f64(version as f64)),
        ("data", JsValue::from_str(&data.to_string())),
    ];
    match model {
        VENTA => {
            fields.push(("folio", field(data, "folio").into()));
            if let Some(original) = data.get("venta_original_id").and_then(Value::as_str) {
                fields.push(("original", original.into()));
            }
        }
        CLIENTE => {
            fields.push(("name", search::fold(field(data, "nombre")).into()));
            if let Some(phone) = data.get("telefono").and_then(Value::as_str) {
                fields.push(("phone", phone.into()));
            }
        }
        _ => {}
    }
    Ok(record(&fields)?.into())
}

/// The JSON of a stored cache record.
fn cached_data(stored: &JsValue) -> Option<Value> {
    serde_json::from_str(&text(stored, "data")?).ok()
}

impl LocalStore {
    /// One cached record of `model`.
    pub async fn cached(&self, model: &str, id: Uuid) -> Result<Option<Value>, DbError> {
        if catalog::holds(model) {
            return self.with_catalog(|c| parsed_one(c.get(model, id))).await;
        }
        let Some(store) = cache_store(model) else {
            return Ok(None);
        };
        let request = self
            .db
            .read(&[store], |tx| {
                tx.object_store(store)?.get(&id.to_string().into())
            })
            .await?;
        Ok(cached_data(&request.result()?))
    }

    /// Several cached records of `model` in one transaction, in the order asked (`None` where
    /// there is none).
    pub async fn cached_many(
        &self,
        model: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Option<Value>>, DbError> {
        if catalog::holds(model) {
            return self
                .with_catalog(|c| ids.iter().map(|id| parsed_one(c.get(model, *id))).collect())
                .await;
        }
        let Some(store) = cache_store(model) else {
            return Ok(vec![None; ids.len()]);
        };
        let requests = self
            .db
            .read(&[store], |tx| {
                let cache = tx.object_store(store)?;
                ids.iter()
                    .map(|id| cache.get(&id.to_string().into()))
                    .collect::<Result<Vec<_>, JsValue>>()
            })
            .await?;
        Ok(requests
            .iter()
            .map(|r| r.result().ok().and_then(|v| cached_data(&v)))
            .collect())
    }

    /// Every cached record of `model` (stock of the store, the day's sales).
    pub async fn all_cached(&self, model: &str) -> Result<Vec<Value>, DbError> {
        if catalog::holds(model) {
            return self.with_catalog(|c| parsed(c.all(model))).await;
        }
        let Some(store) = cache_store(model) else {
            return Ok(Vec::new());
        };
        let request = self
            .db
            .read(&[store], |tx| tx.object_store(store)?.get_all())
            .await?;
        Ok(results(&request).iter().filter_map(cached_data).collect())
    }

    /// Cached sales records (sales, returns, voids) whose `index` is `key`: `folio` or
    /// `original` (the returns and voids of a sale).
    pub async fn sales_by(&self, index: &str, key: &str) -> Result<Vec<Value>, DbError> {
        let request = self
            .db
            .read(&[stores::SALES], |tx| {
                tx.object_store(stores::SALES)?
                    .index(index)?
                    .get_all_with_key(&key.into())
            })
            .await?;
        Ok(results(&request).iter().filter_map(cached_data).collect())
    }

    /// The product with this barcode, from the catalog.
    pub async fn product_by_barcode(&self, barcode: &str) -> Result<Option<Value>, DbError> {
        self.with_catalog(|c| parsed_one(c.by_barcode(barcode)))
            .await
    }

    /// Products found by `query` as the server's search finds them (SKU, barcode prefix or
    /// word prefixes), at most `limit`: see `Catalog::search`.
    pub async fn search_products(&self, query: &str, limit: usize) -> Result<Vec<Value>, DbError> {
        self.with_catalog(|c| parsed(c.search(query, limit))).await
    }

    /// Customers by phone prefix (digits) or folded name prefix.
    pub async fn search_customers(&self, query: &str, limit: usize) -> Result<Vec<Value>, DbError> {
        let query = query.trim();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let (index, prefix) = if digits.len() >= 3 && digits.len() * 2 >= query.len() {
            ("phone", digits)
        } else {
            ("name", search::fold(query))
        };
        if prefix.is_empty() {
            return Ok(Vec::new());
        }
        let upper = search::prefix_upper_bound(&prefix);
        let request = self
            .db
            .read(&[stores::CUSTOMERS], |tx| {
                let range = IdbKeyRange::bound(&prefix.as_str().into(), &upper.as_str().into())?;
                tx.object_store(stores::CUSTOMERS)?
                    .index(index)?
                    .get_all_with_key_and_limit(&range, limit as u32)
            })
            .await?;
        Ok(results(&request).iter().filter_map(cached_data).collect())
    }

    /// Writes many records into a cache in one transaction (benchmarks, tests).
    pub async fn put_cached(
        &self,
        model: &str,
        rows: &[(Uuid, i64, Value)],
    ) -> Result<(), DbError> {
        if catalog::holds(model) {
            let entries = rows
                .iter()
                .map(|(id, version, data)| catalog::Entry {
                    model: model.to_owned(),
                    id: *id,
                    version: *version,
                    data: RawValue::from_string(data.to_string()).ok(),
                })
                .collect();
            let segment = catalog::segment_json(&catalog::Segment {
                base: false,
                entries,
            });
            return self
                .db
                .write(&[stores::CATALOG], |tx| {
                    append(&tx.object_store(stores::CATALOG)?, &segment)
                })
                .await;
        }
        let store = cache_store(model)
            .ok_or_else(|| DbError::new("DataError", format!("modelo {model} sin caché")))?;
        let records = rows
            .iter()
            .map(|(id, version, data)| cache_record(model, *id, *version, data))
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .write(&[store], |tx| {
                let cache = tx.object_store(store)?;
                for r in &records {
                    cache.put(r)?;
                }
                Ok(())
            })
            .await
    }
}
