//! The cache of synced records and the lookups the screens make offline: product by barcode
//! or word prefixes (with the `pairs` index for two-word queries), customers by name or phone,
//! sales by folio or original sale.

use js_sys::Array;
use pronto_shared::{
    search,
    sync::config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
};
use serde_json::Value;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::{results, LocalStore};
use crate::local_db::{record, stores, text, DbError};

/// The cache store of a synced model.
pub fn cache_store(model: &str) -> Option<&'static str> {
    match model {
        PRODUCTO => Some(stores::PRODUCTS),
        CLIENTE => Some(stores::CUSTOMERS),
        EXISTENCIA => Some(stores::STOCK),
        VENTA => Some(stores::SALES),
        _ => None,
    }
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
        PRODUCTO => {
            let words: Array = search::product_words(
                field(data, "nombre"),
                field(data, "marca"),
                field(data, "modelo"),
                field(data, "color"),
            )
            .iter()
            .map(|w| JsValue::from_str(w))
            .collect();
            let pairs: Array = prefix_pairs(
                &words
                    .iter()
                    .filter_map(|w| w.as_string())
                    .collect::<Vec<_>>(),
            )
            .iter()
            .map(|p| JsValue::from_str(p))
            .collect();
            fields.push(("sku", field(data, "sku").into()));
            fields.push(("barcode", field(data, "codigo_barras").into()));
            fields.push(("words", words.into()));
            fields.push(("pairs", pairs.into()));
        }
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

/// Length of the word beginnings paired in the `pairs` index.
const PAIR_PREFIX: usize = 3;

fn beginning(word: &str) -> String {
    word.chars().take(PAIR_PREFIX).collect()
}

/// Every two different word beginnings of a product, in order (`"moc neg"`): a query with two
/// words of three letters or more finds its candidates with one exact index lookup instead of
/// reading every record of its broadest word.
fn prefix_pairs(words: &[String]) -> Vec<String> {
    let mut starts: Vec<String> = words.iter().map(|w| beginning(w)).collect();
    starts.sort();
    starts.dedup();
    let mut pairs = Vec::new();
    for (i, a) in starts.iter().enumerate() {
        for b in &starts[i + 1..] {
            pairs.push(format!("{a} {b}"));
        }
    }
    pairs
}

/// The JSON of a stored cache record.
fn cached_data(stored: &JsValue) -> Option<Value> {
    serde_json::from_str(&text(stored, "data")?).ok()
}

/// The index range of the words that start with `word`.
fn word_range(word: &str) -> Result<IdbKeyRange, JsValue> {
    IdbKeyRange::bound(
        &JsValue::from_str(word),
        &JsValue::from_str(&search::prefix_upper_bound(word)),
    )
}

/// Whether every one of `prefixes` starts some word of a stored product record.
fn has_words(record: &JsValue, prefixes: &[&String]) -> bool {
    let Some(words) = js_sys::Reflect::get(record, &"words".into())
        .ok()
        .and_then(|w| w.dyn_into::<Array>().ok())
    else {
        return false;
    };
    let words: Vec<String> = words.iter().filter_map(|w| w.as_string()).collect();
    prefixes
        .iter()
        .all(|p| words.iter().any(|w| w.starts_with(p.as_str())))
}

impl LocalStore {
    /// One cached record of `model`.
    pub async fn cached(&self, model: &str, id: Uuid) -> Result<Option<Value>, DbError> {
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

    /// The product with this barcode, from the cache.
    pub async fn product_by_barcode(&self, barcode: &str) -> Result<Option<Value>, DbError> {
        let request = self
            .db
            .read(&[stores::PRODUCTS], |tx| {
                tx.object_store(stores::PRODUCTS)?
                    .index("barcode")?
                    .get(&barcode.into())
            })
            .await?;
        Ok(cached_data(&request.result()?))
    }

    /// Products whose words start with every word of `query` (as the server's search does),
    /// at most `limit`, in the word index's order. The query word whose index range is the
    /// smallest (counted first, which reads nothing) drives: its first records are read and the
    /// other words checked against each record's words; if too few match, a four times longer
    /// run is read. Reading every candidate of a broad word ("negro") would take tens of
    /// milliseconds; a cashier's query usually needs a few dozen records.
    pub async fn search_products(&self, query: &str, limit: usize) -> Result<Vec<Value>, DbError> {
        if let Some(found) = self.products_by_code(query, limit).await? {
            return Ok(found);
        }
        let words = search::words(query);
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        if let Some(found) = self.products_by_pair(&words, limit).await? {
            return Ok(found);
        }
        let driver = self.driving_word(&words).await?;
        let others: Vec<&String> = words
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != driver)
            .map(|(_, w)| w)
            .collect();
        let mut take = if others.is_empty() {
            limit
        } else {
            (limit * 4).max(100)
        };
        loop {
            let request = self
                .db
                .read(&[stores::PRODUCTS], |tx| {
                    tx.object_store(stores::PRODUCTS)?
                        .index("words")?
                        .get_all_with_key_and_limit(
                            &word_range(&words[driver])?.into(),
                            take as u32,
                        )
                })
                .await?;
            let stored = results(&request);
            let mut seen = std::collections::HashSet::new();
            let found: Vec<Value> = stored
                .iter()
                .filter(|record| text(record, "id").is_some_and(|id| seen.insert(id)))
                .filter(|record| others.is_empty() || has_words(record, &others))
                .take(limit)
                .filter_map(cached_data)
                .collect();
            if found.len() >= limit || stored.len() < take {
                return Ok(found);
            }
            take *= 4;
        }
    }

    /// A SKU (`PRO-MOC-021-NE-265`) or the start of a barcode, by prefix on its own index;
    /// `None` when the query is neither or nothing starts so.
    async fn products_by_code(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Option<Vec<Value>>, DbError> {
        let token = query.trim();
        let (index, prefix) = if token.contains('-') && !token.contains(' ') {
            ("sku", token.to_uppercase())
        } else if token.len() >= 4 && token.chars().all(|c| c.is_ascii_digit()) {
            ("barcode", token.to_owned())
        } else {
            return Ok(None);
        };
        let upper = search::prefix_upper_bound(&prefix);
        let request = self
            .db
            .read(&[stores::PRODUCTS], |tx| {
                let range = IdbKeyRange::bound(&prefix.as_str().into(), &upper.as_str().into())?;
                tx.object_store(stores::PRODUCTS)?
                    .index(index)?
                    .get_all_with_key_and_limit(&range, limit as u32)
            })
            .await?;
        let found: Vec<Value> = results(&request).iter().filter_map(cached_data).collect();
        Ok((!found.is_empty()).then_some(found))
    }

    /// Two long enough different words: the index of word-beginning pairs finds the records
    /// that have both at once. `None` when the query has no such pair.
    async fn products_by_pair(
        &self,
        words: &[String],
        limit: usize,
    ) -> Result<Option<Vec<Value>>, DbError> {
        let long: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() >= PAIR_PREFIX)
            .map(|w| beginning(w))
            .collect();
        let [a, b, ..] = long.as_slice() else {
            return Ok(None);
        };
        if a == b {
            return Ok(None);
        }
        let key = if a < b {
            format!("{a} {b}")
        } else {
            format!("{b} {a}")
        };
        let all: Vec<&String> = words.iter().collect();
        let mut take = limit * 2;
        loop {
            let request = self
                .db
                .read(&[stores::PRODUCTS], |tx| {
                    tx.object_store(stores::PRODUCTS)?
                        .index("pairs")?
                        .get_all_with_key_and_limit(&key.as_str().into(), take as u32)
                })
                .await?;
            let stored = results(&request);
            let found: Vec<Value> = stored
                .iter()
                .filter(|record| has_words(record, &all))
                .take(limit)
                .filter_map(cached_data)
                .collect();
            if found.len() >= limit || stored.len() < take {
                return Ok(Some(found));
            }
            take *= 4;
        }
    }

    /// The word whose index range is the smallest (counting reads no record).
    async fn driving_word(&self, words: &[String]) -> Result<usize, DbError> {
        if words.len() == 1 {
            return Ok(0);
        }
        let counts = self
            .db
            .read(&[stores::PRODUCTS], |tx| {
                let index = tx.object_store(stores::PRODUCTS)?.index("words")?;
                words
                    .iter()
                    .map(|w| index.count_with_key(&word_range(w)?.into()))
                    .collect::<Result<Vec<_>, JsValue>>()
            })
            .await?;
        Ok(counts
            .iter()
            .map(|r| r.result().ok().and_then(|c| c.as_f64()).unwrap_or(f64::MAX))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(i, _)| i))
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
