//! Conflicts held for a manager (`manual`), listed and resolved: the chosen values are written
//! as a server edit of the record whose fields are stamped with a fresh HLC (so they win over
//! what was there), the conflict is marked resolved by whom and when, and the resolution is
//! audited. Devices get the new values through their next pull (the caller pokes them).

use pronto_shared::{
    api::conflicts::{ConflictView, ResolveInput},
    sync::{
        config::{CLIENTE, PRODUCTO},
        ConflictRecord,
    },
    Action,
};
use serde_json::Value;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::audit::{self, Entry};
use crate::{
    auth::CurrentUser,
    db,
    model::{customers, products, synced, WriteAt},
    AppError, AppState,
};

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

const COLUMNS: &str = "id, op_id, model, entity_id, store_id, record, status, resolved_by, \
                       resolved_at, created_at";

fn status_text(stored: &str) -> &'static str {
    if stored == "pending" {
        "pendiente"
    } else {
        "resuelto"
    }
}

/// The record's current JSON (as the API shows it), if it exists.
async fn current(
    conn: &mut AnyConnection,
    model: &str,
    id: Uuid,
) -> Result<Option<Value>, AppError> {
    let value = match model {
        CLIENTE => customers::get(conn, id)
            .await?
            .map(|c| serde_json::to_value(c).unwrap_or_default()),
        PRODUCTO => products::get(conn, id)
            .await?
            .map(|p| serde_json::to_value(p).unwrap_or_default()),
        _ => None,
    };
    Ok(value)
}

async fn view(conn: &mut AnyConnection, row: Row) -> Result<ConflictView, AppError> {
    let (id, op, model, entity, store, record, status, by, at, created) = row;
    let registro: ConflictRecord = serde_json::from_str(&record)
        .map_err(|e| AppError::Internal(format!("stored conflict record: {e}")))?;
    let entidad_id = db::uuid(&entity)?;
    let now = current(conn, &model, entidad_id).await?;
    let registro_nombre = now
        .as_ref()
        .and_then(|row| pronto_shared::api::directory::record_label(&model, row));
    let actual = registro
        .fields
        .iter()
        .filter_map(|f| Some((f.clone(), now.as_ref()?.get(f)?.clone())))
        .collect();
    Ok(ConflictView {
        id: db::uuid(&id)?,
        op_id: db::uuid(&op)?,
        modelo: model,
        entidad_id,
        tienda_id: db::uuid(&store)?,
        registro,
        estado: status_text(&status).into(),
        creado: created,
        resuelto_por: by.as_deref().map(db::uuid).transpose()?,
        resuelto_en: at,
        actual,
        eliminado: now.is_none(),
        registro_nombre,
    })
}

/// Conflicts of the stores `user` supervises, newest first (`pendiente` by default).
///
/// Pages by key, never by offset: `before` is the last conflict of the previous page (an id
/// that is not a conflict gives an empty page).
pub async fn list(
    conn: &mut AnyConnection,
    user: &CurrentUser,
    pending: bool,
    (limit, before): (Option<i64>, Option<Uuid>),
) -> Result<Vec<ConflictView>, AppError> {
    let status = if pending { "pending" } else { "resolved" };
    let store = user.principal().scope(None);
    if let Some(store) = store {
        user.require(Action::SuperviseSync(store))?;
    }
    let mut sql = format!("SELECT {COLUMNS} FROM sync_conflicts WHERE status = $1");
    let mut binds = vec![status.to_owned()];
    if let Some(store) = store {
        binds.push(store.to_string());
        sql.push_str(&format!(" AND store_id = ${}", binds.len()));
    }
    if let Some(before) = before {
        binds.push(before.to_string());
        let n = binds.len();
        sql.push_str(&db::before_row("created_at, id", "sync_conflicts", "id", n));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        limit.unwrap_or(200).clamp(1, 500)
    ));
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for b in &binds {
        query = query.bind(b);
    }
    let rows: Vec<Row> = query.fetch_all(&mut *conn).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(view(conn, row).await?);
    }
    Ok(views)
}

/// Resolves a pending conflict with the chosen values; returns it resolved.
pub async fn resolve(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
    input: &ResolveInput,
) -> Result<ConflictView, AppError> {
    let mut tx = state.db.begin_write().await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sync_conflicts WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(|| AppError::NotFound(format!("conflicto {id}")))?;
    let found = view(&mut tx, row).await?;
    user.require(Action::SuperviseSync(found.tienda_id))?;
    if found.estado != "pendiente" {
        return Err(AppError::Conflict("Este conflicto ya se resolvió.".into()));
    }
    if !matches!(found.modelo.as_str(), CLIENTE | PRODUCTO) {
        return Err(AppError::BadRequest(format!(
            "{} no se resuelve a mano.",
            found.modelo
        )));
    }
    input.validate(&found.registro)?;
    let at = state.clock.now_rfc3339();
    let before = current(&mut tx, &found.modelo, found.entidad_id).await?;
    // Deleted since the conflict: the delete stands and nothing is written; the conflict is
    // closed so it stops waiting (and stops counting on the till that made the edit).
    let after = match &before {
        Some(_) => Some(write_choice(&mut tx, state, &found, input, &at).await?),
        None => None,
    };
    sqlx::query(
        "UPDATE sync_conflicts SET status = 'resolved', resolved_by = $1, resolved_at = $2 WHERE id = $3",
    )
    .bind(user.id().to_string())
    .bind(&at)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE sync_ops SET status = 'conflict' WHERE op_id = $1 AND status = 'pending'")
        .bind(found.op_id.to_string())
        .execute(&mut *tx)
        .await?;
    let entry = Entry {
        at: at.clone(),
        user_id: Some(user.id().to_string()),
        device_id: None,
        op_id: Some(found.op_id.to_string()),
        model: found.modelo.clone(),
        entity_id: found.entidad_id.to_string(),
        result: "resolved".into(),
        before,
        after,
    };
    audit::append(&mut tx, &entry).await?;
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sync_conflicts WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(&mut *tx)
    .await?;
    let resolved = view(&mut tx, row).await?;
    tx.commit().await?;
    Ok(resolved)
}

/// Writes the manager's values over the record's current ones, each re-stamped with a fresh
/// HLC; the record as written.
async fn write_choice(
    tx: &mut AnyConnection,
    state: &AppState,
    found: &ConflictView,
    input: &ResolveInput,
    at: &str,
) -> Result<Value, AppError> {
    let seq = db::next_change_seq(&mut *tx).await?;
    let hlc = state.next_hlc();
    let write = WriteAt { seq, at, hlc: &hlc };
    let fields = input.valores.clone().into_iter().collect();
    synced::edit(
        tx,
        &found.modelo,
        found.entidad_id,
        &fields,
        (None, true),
        write,
    )
    .await
}
