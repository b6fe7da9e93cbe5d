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

use gloo_timers::future::TimeoutFuture;

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
    /// A catch-up of this tab is running; the others wait for it.
    busy: bool,
}

pub type SharedCatalog = Rc<RefCell<CatalogView>>;

/// Marks a catch-up as running until dropped, also when the lookup's future is dropped
/// midway (the page went elsewhere): the next lookup must not wait forever.
struct Busy<'a>(&'a SharedCatalog);

impl<'a> Busy<'a> {
    fn take(view: &'a SharedCatalog) -> Self {
        view.borrow_mut().busy = true;
        Self(view)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().busy = false;
    }
}

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
        // One catch-up at a time per tab: a lookup arriving while the catalog is being
        // indexed waits for it, instead of reading a catalog still half applied.
        while self.catalog.borrow().busy {
            TimeoutFuture::new(5).await;
        }
        let busy = Busy::take(&self.catalog);
        self.catch_up().await?;
        drop(busy);
        Ok(read(&self.catalog.borrow().catalog))
    }

    async fn catch_up(&self) -> Result<(), DbError> {
        // Again when the database turns out to be another one (the browser reset it): once to
        // give it an id if it has none, once to read it from its start.
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
                self.forget_catalog();
                continue;
            };
            {
                let mut view = self.catalog.borrow_mut();
                if view.database.as_deref() != Some(database.as_str()) {
                    let fresh = view.database.is_none();
                    view.catalog = Catalog::new();
                    view.through = None;
                    view.database = Some(database);
                    if !fresh {
                        continue;
                    }
                }
            }
            let keys = as_vec(&keys.result()?);
            let values = as_vec(&values.result()?);
            for (key, value) in keys.iter().zip(&values) {
                self.apply_segment(key, value);
                // A chain's catalog takes a few hundred milliseconds to index: between
                // segments the page handles its input, so a scan arriving meanwhile is not
                // cut in two by a long pause between its keystrokes.
                TimeoutFuture::new(0).await;
            }
            if count.result()?.as_f64().unwrap_or(0.0) as usize > COMPACT_AFTER {
                self.compact().await?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// Empties this tab's index, to be read again from the log's start.
    fn forget_catalog(&self) {
        let mut view = self.catalog.borrow_mut();
        view.catalog = Catalog::new();
        view.through = None;
        view.database = None;
    }

    /// Applies one segment read from the log under `key`.
    fn apply_segment(&self, key: &JsValue, value: &JsValue) {
        let mut view = self.catalog.borrow_mut();
        let applied = value
            .as_string()
            .map(|json| view.catalog.apply_segment(&json));
        if !matches!(applied, Some(Ok(()))) {
            // IndexedDB writes a segment whole or not at all; one that does not parse was
            // written by a build that no longer reads it. Its records come back with the next
            // pull that changes them.
            leptos::logging::warn!("segmento del catálogo ilegible: {key:?}");
        }
        view.through = key.as_f64().or(view.through);
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
