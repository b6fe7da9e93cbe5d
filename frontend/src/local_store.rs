//! The sync engine's storage in IndexedDB ([`Storage`] over [`LocalDb`]), plus the cache
//! lookups the screens make offline (product by barcode or name prefix, customers by name or
//! phone).
//!
//! Ops and cached records keep their JSON as a string next to the few fields IndexedDB
//! indexes: one string crosses into JavaScript instead of an object built field by field.

use std::{cell::RefCell, rc::Rc};

use js_sys::Array;
use pronto_shared::{
    search,
    sync::{
        config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
        engine::{DeadLetter, Storage, StorageError},
        Change, Hlc, Op,
    },
};
use serde_json::Value;
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{IdbKeyRange, IdbRequest, IdbTransaction};

use crate::local_db::{record, stores, text, DbError, LocalDb};

const LAST_SEQ: &str = "last_seq";
const DATABASE_ID: &str = "database_id";
/// Set when the database was reset and nothing said where the device's seq stands.
const SEQ_UNKNOWN: &str = "seq_unknown";
const LAST_HLC: &str = "last_hlc";
const CURSOR: &str = "cursor";

impl From<DbError> for StorageError {
    fn from(err: DbError) -> Self {
        StorageError(err.to_string())
    }
}

fn js_err(err: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&err.to_string())
}

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

fn results(request: &IdbRequest) -> Vec<JsValue> {
    request
        .result()
        .ok()
        .and_then(|r| r.dyn_into::<Array>().ok())
        .map(|a| a.to_vec())
        .unwrap_or_default()
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

/// Why an op was not recorded: the browser reset the database under the open page (a full
/// disk, a failed write). Its seq would start again at 1 — a folio already printed — so
/// nothing is recorded until the recovery (`recovery::ensure_current`) has put back what the
/// second copy holds and where the seq stands.
pub const DATABASE_RESET: &str =
    "El almacenamiento del dispositivo se reinició: se está recuperando lo guardado. Intenta de nuevo en un momento.";

/// IndexedDB storage for one device's engine. Clones share the connection.
#[derive(Clone)]
pub struct LocalStore {
    pub db: LocalDb,
    /// The database id the recovery last vouched for (`None` until it has run: tests, a
    /// device not registered yet). An enqueue into any other database is refused.
    vouched: Rc<RefCell<Option<String>>>,
}

impl LocalStore {
    pub async fn open(name: &str) -> Result<Self, DbError> {
        Ok(Self::over(LocalDb::open(name).await?))
    }

    pub fn over(db: LocalDb) -> Self {
        Self {
            db,
            vouched: Rc::default(),
        }
    }

    /// The database id the recovery vouched for.
    pub fn vouched(&self) -> Option<String> {
        self.vouched.borrow().clone()
    }

    /// Records that the database `id` holds everything the second copy does and knows its seq.
    pub fn vouch(&self, id: &str) {
        *self.vouched.borrow_mut() = Some(id.to_owned());
    }

    /// Lets enqueues through whatever the database (its seq was made safe another way).
    pub fn unvouch(&self) {
        self.vouched.borrow_mut().take();
    }

    async fn meta(&self, key: &'static str) -> Result<JsValue, DbError> {
        let request = self
            .db
            .read(&[stores::META], |tx| {
                tx.object_store(stores::META)?.get(&key.into())
            })
            .await?;
        Ok(request.result()?)
    }

    async fn set_meta(&self, key: &'static str, value: JsValue) -> Result<(), DbError> {
        self.db
            .write(&[stores::META], |tx| {
                tx.object_store(stores::META)?
                    .put_with_key(&value, &key.into())
            })
            .await?;
        Ok(())
    }

    /// This database's own id, made when it is first asked for: a database the browser reset
    /// and the app created again has a new one (see `outbox_copy`).
    pub async fn database_id(&self) -> Result<String, DbError> {
        if let Some(id) = self.meta(DATABASE_ID).await?.as_string() {
            return Ok(id);
        }
        let id = Uuid::now_v7().to_string();
        self.set_meta(DATABASE_ID, id.clone().into()).await?;
        Ok(id)
    }

    /// Records that this database lost the device's seq and nothing told it where it stands
    /// (cleared by the next `raise_seq`).
    pub async fn forget_seq(&self) -> Result<(), DbError> {
        self.set_meta(SEQ_UNKNOWN, JsValue::TRUE).await
    }

    /// How many records `store` holds, without reading them.
    async fn count(&self, store: &'static str) -> Result<usize, DbError> {
        let request = self
            .db
            .read(&[store], |tx| tx.object_store(store)?.count())
            .await?;
        Ok(request.result()?.as_f64().unwrap_or(0.0) as usize)
    }

    /// Ops waiting.
    pub async fn outbox_len(&self) -> Result<usize, DbError> {
        self.count(stores::OUTBOX).await
    }

    pub async fn dead_letter_count(&self) -> Result<usize, DbError> {
        self.count(stores::DEAD_LETTERS).await
    }

    /// Puts back into the outbox the ops of `kept` (the second copy, `outbox_copy`) that it
    /// lacks — by op id and by seq — and raises the last seq past them; returns how many came
    /// back. After the browser reset this database they are all missing; an op the server
    /// had answered already comes back as a duplicate and leaves again.
    ///
    /// `letters` (ops refused for their place, waiting to be re-sealed) go back among the dead
    /// letters where missing; a letter already re-sealed is gone from the copy too.
    pub async fn restore(&self, kept: &[Op], letters: &[DeadLetter]) -> Result<usize, DbError> {
        let present = self.outbox().await?;
        let dead = self.clone().dead_letters().await.unwrap_or_default();
        let missing: Vec<&Op> = kept
            .iter()
            .filter(|op| {
                !present
                    .iter()
                    .any(|p| p.body.op_id == op.body.op_id || p.body.seq == op.body.seq)
                    && !dead.iter().any(|d| d.op.body.op_id == op.body.op_id)
            })
            .collect();
        let lost_letters: Vec<DeadLetter> = letters
            .iter()
            .filter(|l| !dead.iter().any(|d| d.op.body.op_id == l.op.body.op_id))
            .cloned()
            .collect();
        if !lost_letters.is_empty() {
            self.clone()
                .settle(&[], &lost_letters)
                .await
                .map_err(|e| DbError::new("DataError", e.0))?;
        }
        if missing.is_empty() {
            return Ok(lost_letters.len());
        }
        let rows = missing
            .iter()
            .map(|op| {
                let json = serde_json::to_string(op).map_err(js_err)?;
                record(&[
                    ("op_id", op.body.op_id.to_string().into()),
                    ("seq", JsValue::from_f64(op.body.seq as f64)),
                    ("op", json.into()),
                ])
            })
            .collect::<Result<Vec<_>, JsValue>>()
            .map_err(|e| DbError::from_js(&e))?;
        self.db
            .write(&[stores::OUTBOX], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                for row in &rows {
                    outbox.put(row)?;
                }
                Ok(())
            })
            .await?;
        let highest = missing.iter().map(|op| op.body.seq).max().unwrap_or(0);
        self.clone()
            .raise_seq(highest)
            .await
            .map_err(|e| DbError::new("DataError", e.0))?;
        Ok(missing.len() + lost_letters.len())
    }

    /// Every pending op, oldest first (what the screens show on top of the cache).
    pub async fn outbox(&self) -> Result<Vec<Op>, DbError> {
        self.pending_ops(0, None).await
    }

    async fn pending_ops(&self, after: u64, limit: Option<u32>) -> Result<Vec<Op>, DbError> {
        let request = self
            .db
            .read(&[stores::OUTBOX], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                let above =
                    IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(after as f64), true)?;
                match limit {
                    Some(n) => outbox.get_all_with_key_and_limit(&above, n),
                    None => outbox.get_all_with_key(&above),
                }
            })
            .await?;
        results(&request)
            .iter()
            .map(|stored| {
                let json = text(stored, "op").unwrap_or_default();
                serde_json::from_str(&json)
                    .map_err(|e| DbError::new("DataError", format!("op guardada ilegible: {e}")))
            })
            .collect()
    }

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
        // A SKU (`PRO-MOC-021-NE-265`) or the start of a barcode: its own index, by prefix.
        let token = query.trim();
        let code_index = if token.contains('-') && !token.contains(' ') {
            Some(("sku", token.to_uppercase()))
        } else if token.len() >= 4 && token.chars().all(|c| c.is_ascii_digit()) {
            Some(("barcode", token.to_owned()))
        } else {
            None
        };
        if let Some((index, prefix)) = code_index {
            let upper = search::prefix_upper_bound(&prefix);
            let request = self
                .db
                .read(&[stores::PRODUCTS], |tx| {
                    let range =
                        IdbKeyRange::bound(&prefix.as_str().into(), &upper.as_str().into())?;
                    tx.object_store(stores::PRODUCTS)?
                        .index(index)?
                        .get_all_with_key_and_limit(&range, limit as u32)
                })
                .await?;
            let found: Vec<Value> = results(&request).iter().filter_map(cached_data).collect();
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let words = search::words(query);
        let bounds = |w: &str| -> Result<IdbKeyRange, JsValue> {
            IdbKeyRange::bound(
                &JsValue::from_str(w),
                &JsValue::from_str(&search::prefix_upper_bound(w)),
            )
        };
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let long: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() >= PAIR_PREFIX)
            .map(|w| beginning(w))
            .collect();
        if let [a, b, ..] = long.as_slice() {
            if a != b {
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
                        return Ok(found);
                    }
                    take *= 4;
                }
            }
        }
        let driver = if words.len() == 1 {
            0
        } else {
            let counts = self
                .db
                .read(&[stores::PRODUCTS], |tx| {
                    let index = tx.object_store(stores::PRODUCTS)?.index("words")?;
                    words
                        .iter()
                        .map(|w| index.count_with_key(&bounds(w)?.into()))
                        .collect::<Result<Vec<_>, JsValue>>()
                })
                .await?;
            counts
                .iter()
                .map(|r| r.result().ok().and_then(|c| c.as_f64()).unwrap_or(f64::MAX))
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(i, _)| i)
        };
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
                        .get_all_with_key_and_limit(&bounds(&words[driver])?.into(), take as u32)
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

/// A request kept alive until its transaction completes, with what its callback produced.
type Built = Rc<RefCell<Option<Result<Op, JsValue>>>>;

impl Storage for LocalStore {
    async fn last_seq(&mut self) -> Result<u64, StorageError> {
        Ok(self.meta(LAST_SEQ).await?.as_f64().unwrap_or(0.0) as u64)
    }

    async fn last_hlc(&mut self) -> Result<Option<Hlc>, StorageError> {
        let value = self.meta(LAST_HLC).await?;
        Ok(value
            .as_string()
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn set_last_hlc(&mut self, hlc: &Hlc) -> Result<(), StorageError> {
        let json = serde_json::to_string(hlc).map_err(|e| StorageError(e.to_string()))?;
        Ok(self.set_meta(LAST_HLC, json.into()).await?)
    }

    async fn enqueue_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
    ) -> Result<Op, StorageError> {
        self.enqueue(make, None).await
    }

    async fn seq_unknown(&mut self) -> Result<bool, StorageError> {
        Ok(self.meta(SEQ_UNKNOWN).await?.as_bool().unwrap_or(false))
    }

    async fn reseal_with<F: Fn(u64) -> Op + 'static>(
        &mut self,
        replaces: Uuid,
        make: F,
    ) -> Result<Op, StorageError> {
        self.enqueue(make, Some(replaces)).await
    }

    /// Reads the last seq and writes the larger of it and `floor` in one readwrite
    /// transaction: a tab enqueuing meanwhile is serialised with it, never set back.
    async fn raise_seq(&mut self, floor: u64) -> Result<(), StorageError> {
        let kept = self
            .db
            .write(&[stores::META], |tx| {
                let meta = tx.object_store(stores::META)?;
                let read = meta.get(&LAST_SEQ.into())?;
                let (tx, read2) = (tx.clone(), read.clone());
                let on_read = Closure::<dyn FnMut()>::new(move || {
                    let last = read2.result().ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u64;
                    let written = tx.object_store(stores::META).and_then(|meta| {
                        if floor > last {
                            meta.put_with_key(&JsValue::from_f64(floor as f64), &LAST_SEQ.into())?;
                        }
                        meta.delete(&SEQ_UNKNOWN.into())
                    });
                    if written.is_err() {
                        let _ = tx.abort();
                    }
                });
                read.set_onsuccess(Some(on_read.as_ref().unchecked_ref()));
                Ok(on_read)
            })
            .await?;
        drop(kept);
        Ok(())
    }

    async fn pending(&mut self, after: u64, limit: usize) -> Result<Vec<Op>, StorageError> {
        Ok(self.pending_ops(after, Some(limit as u32)).await?)
    }

    async fn pending_count(&mut self) -> Result<usize, StorageError> {
        Ok(self.outbox_len().await?)
    }

    /// One transaction: each run of consecutive seqs is deleted as one key range (a pushed
    /// batch is usually a single run), and the dead letters are put by op id.
    async fn settle(&mut self, seqs: &[u64], letters: &[DeadLetter]) -> Result<(), StorageError> {
        if seqs.is_empty() && letters.is_empty() {
            return Ok(());
        }
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for seq in sorted {
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == seq => *end = seq,
                _ => runs.push((seq, seq)),
            }
        }
        let rows = letters
            .iter()
            .map(|letter| {
                let json = serde_json::to_string(letter).map_err(js_err)?;
                record(&[
                    ("op_id", letter.op.body.op_id.to_string().into()),
                    ("letter", json.into()),
                ])
            })
            .collect::<Result<Vec<_>, JsValue>>()
            .map_err(|e| StorageError(DbError::from_js(&e).to_string()))?;
        self.db
            .write(&[stores::OUTBOX, stores::DEAD_LETTERS], |tx| {
                let outbox = tx.object_store(stores::OUTBOX)?;
                for (first, last) in &runs {
                    let range = IdbKeyRange::bound(
                        &JsValue::from_f64(*first as f64),
                        &JsValue::from_f64(*last as f64),
                    )?;
                    outbox.delete(&range)?;
                }
                let dead = tx.object_store(stores::DEAD_LETTERS)?;
                for row in &rows {
                    dead.put(row)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn dead_letters(&mut self) -> Result<Vec<DeadLetter>, StorageError> {
        let request = self
            .db
            .read(&[stores::DEAD_LETTERS], |tx| {
                tx.object_store(stores::DEAD_LETTERS)?.get_all()
            })
            .await?;
        Ok(results(&request)
            .iter()
            .filter_map(|stored| serde_json::from_str(&text(stored, "letter")?).ok())
            .collect())
    }

    async fn cursor(&mut self) -> Result<i64, StorageError> {
        Ok(self.meta(CURSOR).await?.as_f64().unwrap_or(0.0) as i64)
    }

    async fn apply_change(&mut self, change: &Change) -> Result<(), StorageError> {
        let cursor = self.cursor().await?;
        self.apply_pull(std::slice::from_ref(change), cursor).await
    }

    async fn set_cursor(&mut self, cursor: i64) -> Result<(), StorageError> {
        Ok(self
            .set_meta(CURSOR, JsValue::from_f64(cursor as f64))
            .await?)
    }

    /// The page's records and the new cursor in one transaction: a crash keeps both or neither.
    async fn apply_pull(&mut self, changes: &[Change], cursor: i64) -> Result<(), StorageError> {
        let mut writes: Vec<(&'static str, String, Option<JsValue>)> = Vec::new();
        for change in changes {
            let Some(store) = cache_store(&change.model) else {
                continue;
            };
            let id = change.entity_id.to_string();
            if change.deleted {
                writes.push((store, id, None));
            } else {
                let row = cache_record(
                    &change.model,
                    change.entity_id,
                    change.version,
                    &change.data,
                )
                .map_err(|e| StorageError(DbError::from_js(&e).to_string()))?;
                writes.push((store, id, Some(row)));
            }
        }
        let mut names: Vec<&str> = stores::CACHES.to_vec();
        names.push(stores::META);
        self.db
            .write(&names, |tx| {
                for (store, id, row) in &writes {
                    let cache = tx.object_store(store)?;
                    match row {
                        Some(row) => cache.put(row)?,
                        None => cache.delete(&id.as_str().into())?,
                    };
                }
                tx.object_store(stores::META)?
                    .put_with_key(&JsValue::from_f64(cursor as f64), &CURSOR.into())?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}

impl LocalStore {
    /// Reads the last seq and writes the op built for the next one in the same readwrite
    /// transaction, so tabs enqueuing at once are serialised by IndexedDB itself; with
    /// `replaces`, the dead letter it re-seals goes in the same transaction.
    async fn enqueue<F: Fn(u64) -> Op + 'static>(
        &mut self,
        make: F,
        replaces: Option<Uuid>,
    ) -> Result<Op, StorageError> {
        let make = Rc::new(make);
        let built: Built = Rc::default();
        let scope: &[&str] = if replaces.is_some() {
            &[stores::OUTBOX, stores::META, stores::DEAD_LETTERS]
        } else {
            &[stores::OUTBOX, stores::META]
        };
        let vouched = self.vouched();
        let written = self
            .db
            .write(scope, |tx| {
                built.borrow_mut().take();
                if let Some(letter) = replaces {
                    tx.object_store(stores::DEAD_LETTERS)?
                        .delete(&letter.to_string().into())?;
                }
                let meta = tx.object_store(stores::META)?;
                // In the same transaction as the seq: a reset between a check and the write
                // cannot slip through. Requests of one transaction complete in order, so the
                // id is read when the seq's callback runs.
                let id_read = match vouched {
                    Some(_) => Some(meta.get(&DATABASE_ID.into())?),
                    None => None,
                };
                let read = meta.get(&LAST_SEQ.into())?;
                let (tx, read2, out, make, vouched) = (
                    tx.clone(),
                    read.clone(),
                    Rc::clone(&built),
                    Rc::clone(&make),
                    vouched.clone(),
                );
                let on_read = Closure::<dyn FnMut()>::new(move || {
                    let same = match (&vouched, &id_read) {
                        (Some(expected), Some(id)) => {
                            id.result().ok().and_then(|v| v.as_string()).as_ref() == Some(expected)
                        }
                        _ => true,
                    };
                    let outcome = if same {
                        write_op(&tx, &read2, make.as_ref())
                    } else {
                        Err(JsValue::from_str(DATABASE_RESET))
                    };
                    if outcome.is_err() {
                        let _ = tx.abort();
                    }
                    *out.borrow_mut() = Some(outcome);
                });
                read.set_onsuccess(Some(on_read.as_ref().unchecked_ref()));
                Ok(on_read)
            })
            .await;
        let op = built.borrow_mut().take();
        match (written, op) {
            // The op's own failure says more than the abort it caused.
            (_, Some(Err(err))) => Err(StorageError(match err.as_string() {
                Some(text) if text == DATABASE_RESET => text,
                _ => DbError::from_js(&err).to_string(),
            })),
            (Err(err), _) => Err(err.into()),
            (Ok(_), Some(Ok(op))) => Ok(op),
            (Ok(_), None) => Err(StorageError("la operación no se guardó".into())),
        }
    }
}

/// Inside the enqueue transaction, once the last seq is read: builds the next op and stores it
/// with the new last seq and HLC.
fn write_op(
    tx: &IdbTransaction,
    read: &IdbRequest,
    make: &dyn Fn(u64) -> Op,
) -> Result<Op, JsValue> {
    let last = read.result()?.as_f64().unwrap_or(0.0) as u64;
    let op = make(last + 1);
    let json = serde_json::to_string(&op).map_err(js_err)?;
    let hlc = serde_json::to_string(&op.body.hlc).map_err(js_err)?;
    let row = record(&[
        ("op_id", op.body.op_id.to_string().into()),
        ("seq", JsValue::from_f64(op.body.seq as f64)),
        ("op", json.into()),
    ])?;
    tx.object_store(stores::OUTBOX)?.add(&row)?;
    let meta = tx.object_store(stores::META)?;
    meta.put_with_key(&JsValue::from_f64(op.body.seq as f64), &LAST_SEQ.into())?;
    meta.put_with_key(&hlc.into(), &LAST_HLC.into())?;
    Ok(op)
}
