//! The device's IndexedDB database, through web-sys: opening with versioned upgrade steps,
//! one future per transaction, and reopening when the browser drops the connection.
//!
//! Work runs in [`LocalDb::run`]: a closure issues its requests synchronously on a fresh
//! transaction, the transaction's `complete` is awaited, and the caller reads the requests'
//! results afterwards. Write transactions ask for `durability: "strict"`, so `complete` means
//! on disk. If the connection was lost (the browser closes it when storage is cleared or under
//! pressure; another tab's upgrade asks us to close), it is reopened and the whole transaction
//! run again — the closures only put and delete, which can be repeated.

use std::{cell::RefCell, rc::Rc};

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, EventTarget, IdbDatabase, IdbIndexParameters, IdbObjectStoreParameters,
    IdbOpenDbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent,
};

pub const DB_NAME: &str = "pronto";
/// The schema version this build writes; see [`upgrade`].
pub const VERSION: u32 = 6;

/// Object store names.
pub mod stores {
    /// Small values under fixed keys: last seq and HLC, pull cursor.
    pub const META: &str = "meta";
    /// Ops not yet settled by the server, keyed by seq (so a pushed run of them is deleted as
    /// one key range), indexed by op id.
    pub const OUTBOX: &str = "outbox";
    /// Ops the server refused for good, keyed by op id.
    pub const DEAD_LETTERS: &str = "dead_letters";
    /// Ops the server answered and placed, kept for a while (`Storage::settle`) in case it is
    /// restored to an older backup: keyed by seq, indexed by when they were settled (`at`).
    pub const ACKED: &str = "acked";
    /// The catalog (products and stock) as a log of segments, one record per pulled page,
    /// under keys from the store's key generator (`pronto_shared::catalog`).
    pub const CATALOG: &str = "catalogo";
    /// Caches of versions 1 to 5, one record per product or stock record; step 6 removed them.
    pub const PRODUCTS: &str = "productos";
    pub const STOCK: &str = "existencias";
    pub const CUSTOMERS: &str = "clientes";
    pub const SALES: &str = "ventas";
    /// The caches that keep one record per entity.
    pub const CACHES: [&str; 2] = [CUSTOMERS, SALES];
}

/// An IndexedDB failure, with the browser's error name (`QuotaExceededError`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub name: String,
    pub message: String,
}

impl DbError {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            message: message.into(),
        }
    }

    pub fn from_js(value: &JsValue) -> Self {
        match value.dyn_ref::<DomException>() {
            Some(e) => Self::new(&e.name(), e.message()),
            None => Self::new(
                "Error",
                value.as_string().unwrap_or_else(|| format!("{value:?}")),
            ),
        }
    }

    /// The connection was closed under us: reopening and retrying is right. Chromium closes
    /// every connection of a database whose disk write failed ("UnknownError: Connection is
    /// closing because of: IO error …") without always firing `close`; kept, the dead
    /// connection would fail every later transaction of this page.
    fn connection_lost(&self) -> bool {
        matches!(
            self.name.as_str(),
            "InvalidStateError" | "AbortError" | "UnknownError"
        )
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl From<JsValue> for DbError {
    fn from(value: JsValue) -> Self {
        Self::from_js(&value)
    }
}

/// Resolves when `target` fires `ok`, fails with the event's type when it fires one of
/// `fail`. The listeners are removed when it settles.
async fn event(target: &EventTarget, ok: &str, fail: &[&str]) -> Result<(), String> {
    let mut settle: Option<(Function, Function)> = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let Some((resolve, reject)) = settle else {
        return Err("promise".into());
    };
    let on_ok = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        let _ = resolve.call0(&JsValue::NULL);
    });
    let on_fail = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&e.type_()));
    });
    let _ = target.add_event_listener_with_callback(ok, on_ok.as_ref().unchecked_ref());
    for name in fail {
        let _ = target.add_event_listener_with_callback(name, on_fail.as_ref().unchecked_ref());
    }
    let outcome = JsFuture::from(promise).await;
    let _ = target.remove_event_listener_with_callback(ok, on_ok.as_ref().unchecked_ref());
    for name in fail {
        let _ = target.remove_event_listener_with_callback(name, on_fail.as_ref().unchecked_ref());
    }
    outcome
        .map(|_| ())
        .map_err(|e| e.as_string().unwrap_or_default())
}

/// A database's schema steps from one version to another (see [`upgrade`]).
pub type Upgrade = fn(&IdbDatabase, &IdbTransaction, u32, u32) -> Result<(), JsValue>;

/// An open database that reopens itself; cheap to clone (every clone shares the connection).
#[derive(Clone)]
pub struct LocalDb {
    name: Rc<str>,
    version: u32,
    upgrade: Upgrade,
    connection: Rc<RefCell<Option<IdbDatabase>>>,
}

impl LocalDb {
    /// Opens (creating or upgrading) the app's database at this build's schema version.
    pub async fn open(name: &str) -> Result<Self, DbError> {
        Self::open_at(name, VERSION).await
    }

    /// Opens at an older schema version: for upgrade tests.
    pub async fn open_at(name: &str, version: u32) -> Result<Self, DbError> {
        Self::open_with(name, version, upgrade).await
    }

    /// Opens another database of the app with its own schema steps.
    pub async fn open_with(name: &str, version: u32, upgrade: Upgrade) -> Result<Self, DbError> {
        let db = Self {
            name: name.into(),
            version,
            upgrade,
            connection: Rc::new(RefCell::new(None)),
        };
        db.connection().await?;
        Ok(db)
    }

    /// Closes the connection as the browser would; the next use reopens it.
    pub fn close(&self) {
        if let Some(db) = self.connection.borrow_mut().take() {
            db.close();
        }
    }

    /// Deletes the whole database (tests; a device being reset).
    pub async fn delete(name: &str) -> Result<(), DbError> {
        let factory = factory()?;
        let request = factory.delete_database(name)?;
        event(&request, "success", &["error"])
            .await
            .map_err(|_| DbError::new("Error", "no se pudo borrar la base local"))
    }

    async fn connection(&self) -> Result<IdbDatabase, DbError> {
        if let Some(db) = self.connection.borrow().as_ref() {
            return Ok(db.clone());
        }
        let db = connect(&self.name, self.version, self.upgrade).await?;
        // The browser closed it (storage cleared, disk trouble): forget it, reopen on next use.
        let slot = Rc::clone(&self.connection);
        let on_close = Closure::<dyn FnMut()>::new(move || {
            slot.borrow_mut().take();
        });
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        // Another tab opens a newer schema: step aside so its upgrade is not blocked.
        let slot = Rc::clone(&self.connection);
        let this = db.clone();
        let on_version_change = Closure::<dyn FnMut()>::new(move || {
            this.close();
            slot.borrow_mut().take();
        });
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        on_version_change.forget();
        *self.connection.borrow_mut() = Some(db.clone());
        Ok(db)
    }

    /// Runs `work` in one transaction over `stores` and waits until it is complete; on a lost
    /// connection, reopens and runs it again (up to three times).
    pub async fn run<R>(
        &self,
        stores: &[&str],
        mode: IdbTransactionMode,
        work: impl Fn(&IdbTransaction) -> Result<R, JsValue>,
    ) -> Result<R, DbError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let db = self.connection().await?;
            match transact(&db, stores, mode, &work).await {
                Ok(result) => return Ok(result),
                Err(err) if attempt < 3 && err.connection_lost() => {
                    {
                        let mut slot = self.connection.borrow_mut();
                        if let Some(current) = slot.as_ref() {
                            if current == &db {
                                current.close();
                                *slot = None;
                            }
                        }
                    }
                    // After a failed disk write the browser tears its backing store down only
                    // once no connection holds it: reopening at once could keep the broken one.
                    gloo_timers::future::TimeoutFuture::new(250 * attempt).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    pub async fn write<R>(
        &self,
        stores: &[&str],
        work: impl Fn(&IdbTransaction) -> Result<R, JsValue>,
    ) -> Result<R, DbError> {
        self.run(stores, IdbTransactionMode::Readwrite, work).await
    }

    pub async fn read<R>(
        &self,
        stores: &[&str],
        work: impl Fn(&IdbTransaction) -> Result<R, JsValue>,
    ) -> Result<R, DbError> {
        self.run(stores, IdbTransactionMode::Readonly, work).await
    }
}

async fn transact<R>(
    db: &IdbDatabase,
    stores: &[&str],
    mode: IdbTransactionMode,
    work: &impl Fn(&IdbTransaction) -> Result<R, JsValue>,
) -> Result<R, DbError> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let (mode_name, durability) = match mode {
        IdbTransactionMode::Readwrite => ("readwrite", "strict"),
        _ => ("readonly", "default"),
    };
    // `transaction(names, mode, {durability})`: web-sys keeps the options dictionary behind
    // its unstable flag, so the call goes through Reflect.
    let options = Object::new();
    Reflect::set(&options, &"durability".into(), &durability.into())?;
    let method: Function = Reflect::get(db, &"transaction".into())?.dyn_into()?;
    let tx: IdbTransaction = method
        .call3(db, &names, &mode_name.into(), &options)?
        .dyn_into()?;
    let result = match work(&tx) {
        Ok(result) => result,
        Err(err) => {
            let _ = tx.abort();
            return Err(DbError::from_js(&err));
        }
    };
    match event(&tx, "complete", &["abort"]).await {
        Ok(()) => Ok(result),
        Err(_) => Err(match tx.error() {
            Some(e) => DbError::new(&e.name(), e.message()),
            None => DbError::new("AbortError", "la transacción se interrumpió"),
        }),
    }
}

fn factory() -> Result<web_sys::IdbFactory, DbError> {
    web_sys::window()
        .ok_or_else(|| DbError::new("NotSupportedError", "sin ventana"))?
        .indexed_db()?
        .ok_or_else(|| DbError::new("NotSupportedError", "este navegador no tiene IndexedDB"))
}

async fn connect(name: &str, version: u32, upgrade: Upgrade) -> Result<IdbDatabase, DbError> {
    let request: IdbOpenDbRequest = factory()?.open_with_u32(name, version)?;
    let upgrading = request.clone();
    let failure: Rc<RefCell<Option<DbError>>> = Rc::default();
    let failed = Rc::clone(&failure);
    let on_upgrade =
        Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |e: IdbVersionChangeEvent| {
            let db = upgrading
                .result()
                .and_then(|db| db.dyn_into::<IdbDatabase>());
            let outcome = match (db, upgrading.transaction()) {
                (Ok(db), Some(tx)) => {
                    upgrade(&db, &tx, e.old_version() as u32, version).map_err(|err| {
                        let _ = tx.abort();
                        DbError::from_js(&err)
                    })
                }
                _ => Err(DbError::new("Error", "actualización sin transacción")),
            };
            if let Err(err) = outcome {
                *failed.borrow_mut() = Some(err);
            }
        });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    // `blocked` is not a failure: the request waits until other tabs close (they do, on
    // `versionchange`).
    let outcome = event(&request, "success", &["error"]).await;
    request.set_onupgradeneeded(None);
    drop(on_upgrade);
    if let Some(err) = failure.borrow_mut().take() {
        return Err(err);
    }
    if outcome.is_err() {
        return Err(match request.error() {
            Ok(Some(e)) => DbError::new(&e.name(), e.message()),
            _ => DbError::new("Error", "no se pudo abrir la base local"),
        });
    }
    Ok(request.result()?.dyn_into::<IdbDatabase>()?)
}

/// Schema steps; each runs once, in order, inside the browser's upgrade transaction, and
/// keeps what earlier versions stored.
/// - 1: the sync engine's stores (meta, outbox by seq with a unique op-id index, dead
///   letters) and one cache store per synced model, keyed by entity id;
/// - 2: the search indexes the screens need — products by SKU, barcode and every folded word
///   of their name (multi-entry), customers by folded name and phone. Cache records carry these
///   fields from version 1 on, so the new indexes cover what was already stored. `pairs`
///   holds every two different three-letter word beginnings of a product, for two-word queries;
/// - 3: sales by folio and by the sale a return names (`original`), for returns at the till.
///   Sale records of earlier versions lack those fields, so the step rewrites them in place.
/// - 4: the outbox by the kind of record an op is about (`category`, see `outbox_kinds`), so
///   counting pending sales or reading pending customers reads no other op. Ops queued under
///   earlier versions get the field in place.
/// - 5: acknowledged ops (`stores::ACKED`), kept after their answer for the retention window.
/// - 6: the catalog as a log of segments (`stores::CATALOG`) instead of one record per
///   product and per stock record, which IndexedDB stores too slowly for a chain's catalog.
///   The old stores go and the pull cursor with them: the next sync pulls everything again.
fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, from: u32, to: u32) -> Result<(), JsValue> {
    // A database some other script opened first without a version is empty at version 1 (the
    // e2e suite's own probe did, under load): without its stores it is new, whatever its
    // number says — else every later step fails on a missing store and it never opens.
    let from = if db.object_store_names().contains(stores::META) {
        from
    } else {
        0
    };
    if from < 1 && to >= 1 {
        db.create_object_store(stores::META)?;
        let outbox =
            db.create_object_store_with_optional_parameters(stores::OUTBOX, &key_path("seq"))?;
        let unique = IdbIndexParameters::new();
        unique.set_unique(true);
        outbox.create_index_with_str_and_optional_parameters("op_id", "op_id", &unique)?;
        db.create_object_store_with_optional_parameters(stores::DEAD_LETTERS, &key_path("op_id"))?;
        for name in [
            stores::PRODUCTS,
            stores::CUSTOMERS,
            stores::STOCK,
            stores::SALES,
        ] {
            db.create_object_store_with_optional_parameters(name, &key_path("id"))?;
        }
    }
    if from < 2 && to >= 2 {
        let products = tx.object_store(stores::PRODUCTS)?;
        products.create_index_with_str("sku", "sku")?;
        products.create_index_with_str("barcode", "barcode")?;
        let multi = IdbIndexParameters::new();
        multi.set_multi_entry(true);
        products.create_index_with_str_and_optional_parameters("words", "words", &multi)?;
        products.create_index_with_str_and_optional_parameters("pairs", "pairs", &multi)?;
        let customers = tx.object_store(stores::CUSTOMERS)?;
        customers.create_index_with_str("name", "name")?;
        customers.create_index_with_str("phone", "phone")?;
    }
    if from < 3 && to >= 3 {
        let sales = tx.object_store(stores::SALES)?;
        sales.create_index_with_str("folio", "folio")?;
        sales.create_index_with_str("original", "original")?;
        if from >= 1 {
            rewrite_each(&sales, index_sale)?;
        }
    }
    if from < 4 && to >= 4 {
        let outbox = tx.object_store(stores::OUTBOX)?;
        outbox.create_index_with_str("category", "category")?;
        if from >= 1 {
            rewrite_each(&outbox, file_op)?;
        }
    }
    if from < 5 && to >= 5 {
        let acked =
            db.create_object_store_with_optional_parameters(stores::ACKED, &key_path("seq"))?;
        acked.create_index_with_str("at", "at")?;
    }
    if from < 6 && to >= 6 {
        let params = IdbObjectStoreParameters::new();
        params.set_auto_increment(true);
        db.create_object_store_with_optional_parameters(stores::CATALOG, &params)?;
        db.delete_object_store(stores::PRODUCTS)?;
        db.delete_object_store(stores::STOCK)?;
        if from >= 1 {
            tx.object_store(stores::META)?
                .delete(&JsValue::from_str(crate::local_store::CURSOR))?;
        }
    }
    Ok(())
}

/// Adds `folio` and `original` to a stored sale record (upgrade step 3).
fn index_sale(row: &JsValue) {
    let data: serde_json::Value = text(row, "data")
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or_default();
    for (key, field) in [("folio", "folio"), ("original", "venta_original_id")] {
        if let Some(value) = data.get(field).and_then(|v| v.as_str()) {
            let _ = Reflect::set(row, &JsValue::from_str(key), &value.into());
        }
    }
}

/// Adds `category` to a queued op (upgrade step 4).
fn file_op(row: &JsValue) {
    let op: Option<pronto_shared::sync::Op> =
        text(row, "op").and_then(|json| serde_json::from_str(&json).ok());
    if let Some(op) = op {
        let category = crate::outbox_kinds::category(&op.body.model, op.body.kind);
        let _ = Reflect::set(row, &JsValue::from_str("category"), &category.into());
    }
}

/// Rewrites every record of `store` with `fix` (an upgrade step adding a field). The cursor
/// walks inside the upgrade transaction, which stays open while it has requests in flight.
fn rewrite_each(store: &web_sys::IdbObjectStore, fix: fn(&JsValue)) -> Result<(), JsValue> {
    let request = store.open_cursor()?;
    let walk = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let Some(cursor) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<web_sys::IdbCursorWithValue>().ok())
        else {
            return;
        };
        if let Ok(row) = cursor.value() {
            fix(&row);
            let _ = cursor.update(&row);
        }
        let _ = cursor.continue_();
    });
    request.set_onsuccess(Some(walk.as_ref().unchecked_ref()));
    // Runs once per device, at the upgrade; the callback must outlive this function.
    walk.forget();
    Ok(())
}

fn key_path(path: &str) -> IdbObjectStoreParameters {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&JsValue::from_str(path));
    params
}

/// A plain object from pairs, for records.
pub fn record(fields: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &JsValue::from_str(key), value)?;
    }
    Ok(object)
}

/// A string property of a stored record.
pub fn text(record: &JsValue, key: &str) -> Option<String> {
    Reflect::get(record, &JsValue::from_str(key))
        .ok()?
        .as_string()
}
