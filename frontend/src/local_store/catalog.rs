//! The catalog's segments in IndexedDB and the in-memory index every tab builds from them
//! (`pronto_shared::catalog`).
//!
//! Each read first catches up: one transaction reads the segments written since this tab last
//! looked (by this tab's sync, another tab's, or none) and the database's id. A database that
//! is not the one the index was built from (the browser reset it) is read again from its first
//! segment. Once the log is long, the catalog is written back as a few `base` segments under
//! keys between the last one read and the next the key generator will hand out, so a segment
//! another tab adds meanwhile still comes after them.

use std::{cell::RefCell, rc::Rc};

use js_sys::Array;
use pronto_shared::catalog::{self, Catalog, Entry, Segment};
use pronto_shared::sync::Change;
use serde_json::value::RawValue;
use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbObjectStore};

use super::{LocalStore, DATABASE_ID};
use crate::local_db::{stores, DbError};

/// Segments in the log past which a catch-up compacts it (the first download of a chain's
/// catalog writes about 80).
const COMPACT_AFTER: usize = 256;
/// Records per segment a compaction writes.
const SNAPSHOT_SEGMENT: usize = 2_000;

/// One tab's index of the catalog and how far into the log it has read.
#[derive(Default)]
pub struct CatalogView {
    pub catalog: Catalog,
    /// The key of the last segment applied.
    through: Option<f64>,
    /// The database the segments were read from.
    database: Option<String>,
}

pub type SharedCatalog = Rc<RefCell<CatalogView>>;

/// The segment of a pulled page's catalog changes; `None` when it has none.
pub fn segment_of(changes: &[Change]) -> Option<String> {
    let entries: Vec<Entry> = changes
        .iter()
        .filter(|c| catalog::holds(&c.model))
        .map(|c| Entry {
            model: c.model.clone(),
            id: c.entity_id,
            version: c.version,
            data: if c.deleted {
                None
            } else {
                RawValue::from_string(c.data.to_string()).ok()
            },
        })
        .collect();
    (!entries.is_empty()).then(|| {
        catalog::segment_json(&Segment {
            base: false,
            entries,
        })
    })
}

/// Adds a segment to the log in `tx`'s transaction.
pub fn append(store: &IdbObjectStore, segment: &str) -> Result<(), JsValue> {
    store.put(&JsValue::from_str(segment))?;
    Ok(())
}

impl LocalStore {
    /// Runs `read` on the catalog once it holds every segment written so far.
    pub async fn with_catalog<R>(&self, read: impl FnOnce(&Catalog) -> R) -> Result<R, DbError> {
        self.catch_up().await?;
        Ok(read(&self.catalog.borrow().catalog))
    }

    async fn catch_up(&self) -> Result<(), DbError> {
        // Again when the database turns out to be another one (the browser reset it) or
        // another catch-up of this tab moved on while this one waited.
        for _ in 0..3 {
            let through = self.catalog.borrow().through;
            let (keys, values, count, database) = self
                .db
                .read(&[stores::CATALOG, stores::META], |tx| {
                    let log = tx.object_store(stores::CATALOG)?;
                    let (keys, values) = match through {
                        Some(key) => {
                            let newer = IdbKeyRange::lower_bound_with_open(&key.into(), true)?;
                            (
                                log.get_all_keys_with_key(&newer)?,
                                log.get_all_with_key(&newer)?,
                            )
                        }
                        None => (log.get_all_keys()?, log.get_all()?),
                    };
                    let database = tx.object_store(stores::META)?.get(&DATABASE_ID.into())?;
                    Ok((keys, values, log.count()?, database))
                })
                .await?;
            // Without an id, a database the browser reset could not be told from this one.
            let Some(database) = database.result()?.as_string() else {
                self.database_id().await?;
                *self.catalog.borrow_mut() = CatalogView::default();
                continue;
            };
            if !self.apply_read(through, database, &keys.result()?, &values.result()?) {
                continue;
            }
            if count.result()?.as_f64().unwrap_or(0.0) as usize > COMPACT_AFTER {
                self.compact().await?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// Applies the segments a catch-up read after `through` from `database`; `false` when they
    /// cannot be (another catch-up moved on, or the database is another one) and it must read
    /// again.
    fn apply_read(
        &self,
        through: Option<f64>,
        database: String,
        keys: &JsValue,
        values: &JsValue,
    ) -> bool {
        let mut view = self.catalog.borrow_mut();
        if view.through != through {
            return false;
        }
        if view.database.as_deref() != Some(database.as_str()) {
            let fresh = view.database.is_none();
            *view = CatalogView {
                database: Some(database),
                ..CatalogView::default()
            };
            if !fresh {
                return false;
            }
        }
        for (key, value) in as_vec(keys).iter().zip(&as_vec(values)) {
            let applied = value
                .as_string()
                .map(|json| view.catalog.apply_segment(&json));
            if !matches!(applied, Some(Ok(()))) {
                // IndexedDB writes a segment whole or not at all; one that does not parse was
                // written by a build that no longer reads it. Its records come back with the
                // next pull that changes them.
                leptos::logging::warn!("segmento del catálogo ilegible: {key:?}");
            }
            view.through = key.as_f64().or(view.through);
        }
        true
    }

    /// Writes the catalog as `base` segments in place of every segment up to the last read.
    async fn compact(&self) -> Result<(), DbError> {
        let (segments, through) = {
            let view = self.catalog.borrow();
            let Some(through) = view.through else {
                return Ok(());
            };
            (view.catalog.snapshot(SNAPSHOT_SEGMENT), through)
        };
        // The generator's next key is above every integer key so far: stay below it.
        let gap = through.floor() + 1.0 - through;
        if gap < 1e-6 {
            return Ok(());
        }
        let step = gap / (segments.len() + 1) as f64;
        let keys: Vec<f64> = (1..=segments.len())
            .map(|i| through + step * i as f64)
            .collect();
        self.db
            .write(&[stores::CATALOG], |tx| {
                let log = tx.object_store(stores::CATALOG)?;
                log.delete(&IdbKeyRange::upper_bound(&through.into())?.into())?;
                for (key, segment) in keys.iter().zip(&segments) {
                    log.put_with_key(&JsValue::from_str(segment), &(*key).into())?;
                }
                Ok(())
            })
            .await?;
        let mut view = self.catalog.borrow_mut();
        if view.through == Some(through) {
            view.through = keys.last().copied();
        }
        Ok(())
    }
}

fn as_vec(value: &JsValue) -> Vec<JsValue> {
    Array::from(value).to_vec()
}
