//! The REST writes of the synced records (products, customers), one code for both: a create
//! inserts the validated record, an edit goes through the shared conflict rule
//! (`model::synced::edit`); either is audited with the record before and after, and every
//! device is told after the commit.

use pronto_shared::sync::{records::ValidRecord, Hlc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    db,
    model::{customers, products, synced, WriteAt},
    sync::audit,
    AppError, AppState,
};

/// A record in the API's shape from its stored JSON.
fn typed<T: DeserializeOwned>(json: Value) -> Result<T, AppError> {
    serde_json::from_value(json).map_err(|e| AppError::Internal(e.to_string()))
}

/// An edit's body may repeat the record's id; another one is a mistake.
pub(super) fn same_id(path: Uuid, body: Option<Uuid>) -> Result<(), AppError> {
    if body.is_some_and(|body| body != path) {
        return Err(AppError::BadRequest(
            "El id del cuerpo no coincide con el de la ruta.".into(),
        ));
    }
    Ok(())
}

/// A REST write in progress: its transaction, time and HLC.
struct Write {
    tx: crate::db::WriteTx,
    seq: i64,
    at: String,
    hlc: Hlc,
}

impl Write {
    async fn begin(state: &AppState) -> Result<Self, AppError> {
        let mut tx = state.db.begin_write().await?;
        let seq = db::next_change_seq(&mut tx).await?;
        let (at, hlc) = (state.clock.now_rfc3339(), state.next_hlc());
        Ok(Self { tx, seq, at, hlc })
    }

    /// Audits `before` → `after`, commits, tells the devices.
    async fn finish(
        self,
        state: &AppState,
        user: &CurrentUser,
        (model, id): (&str, Uuid),
        (before, after): (Option<Value>, &Value),
    ) -> Result<(), AppError> {
        let entry = audit::rest(user, &self.at, model, id, before.as_ref(), Some(after));
        super::commit_and_tell(state, self.tx, Some(&entry), None).await
    }
}

/// A new record with this id.
pub(super) async fn create<T: DeserializeOwned>(
    state: &AppState,
    user: &CurrentUser,
    (model, id): (&str, Uuid),
    valid: ValidRecord,
) -> Result<T, AppError> {
    let mut write = Write::begin(state).await?;
    let w = WriteAt {
        seq: write.seq,
        at: &write.at,
        hlc: &write.hlc,
    };
    match &valid {
        ValidRecord::Product(p) => products::insert(&mut write.tx, id, p, w).await?,
        ValidRecord::Customer(c) => customers::insert(&mut write.tx, id, c, 0, w).await?,
    }
    let after = synced::load(&mut write.tx, model, id)
        .await?
        .ok_or_else(|| AppError::Internal("the new record vanished".into()))?
        .json;
    write
        .finish(state, user, (model, id), (None, &after))
        .await?;
    typed(after)
}

/// Every field of a live record replaced by `valid`'s, through the shared conflict rule;
/// `version`, when given, must be the stored one (else 409).
pub(super) async fn edit<T: DeserializeOwned>(
    state: &AppState,
    user: &CurrentUser,
    (model, id): (&str, Uuid),
    valid: ValidRecord,
    version: Option<i64>,
) -> Result<T, AppError> {
    let mut write = Write::begin(state).await?;
    let w = WriteAt {
        seq: write.seq,
        at: &write.at,
        hlc: &write.hlc,
    };
    let before = synced::load(&mut write.tx, model, id)
        .await?
        .filter(|l| !l.row.deleted)
        .map(|l| l.json);
    let after = synced::edit(
        &mut write.tx,
        model,
        id,
        &valid.fields(),
        (version, false),
        w,
    )
    .await?;
    write
        .finish(state, user, (model, id), (before, &after))
        .await?;
    typed(after)
}
