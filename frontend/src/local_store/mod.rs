//! The sync engine's storage in IndexedDB ([`Storage`](pronto_shared::sync::engine::Storage) over
//! [`LocalDb`]), plus the cache lookups the screens make offline (product by barcode or name
//! prefix, customers by name or phone).
//!
//! Ops and cached records keep their JSON as a string next to the few fields IndexedDB
//! indexes: one string crosses into JavaScript instead of an object built field by field.

mod cache;
mod catalog;
mod outbox;

pub use cache::{cache_record, cache_store};

use std::{cell::RefCell, rc::Rc};

use js_sys::Array;
use pronto_shared::sync::engine::StorageError;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbRequest;

use crate::local_db::{stores, DbError, LocalDb};

const LAST_SEQ: &str = "last_seq";
const DATABASE_ID: &str = "database_id";
/// Set when the database was reset and nothing said where the device's seq stands.
const SEQ_UNKNOWN: &str = "seq_unknown";
const LAST_HLC: &str = "last_hlc";
pub(crate) const CURSOR: &str = "cursor";
/// The server database the cursor counts in (`PullReply::instance`).
const SERVER_INSTANCE: &str = "server_instance";

impl From<DbError> for StorageError {
    fn from(err: DbError) -> Self {
        StorageError(err.to_string())
    }
}

fn js_err(err: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&err.to_string())
}

fn results(request: &IdbRequest) -> Vec<JsValue> {
    request
        .result()
        .ok()
        .and_then(|r| r.dyn_into::<Array>().ok())
        .map(|a| a.to_vec())
        .unwrap_or_default()
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
    /// This tab's index of the catalog (clones share it).
    catalog: catalog::SharedCatalog,
}

impl LocalStore {
    pub async fn open(name: &str) -> Result<Self, DbError> {
        Ok(Self::over(LocalDb::open(name).await?))
    }

    pub fn over(db: LocalDb) -> Self {
        Self {
            db,
            vouched: Rc::default(),
            catalog: Rc::default(),
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
}
