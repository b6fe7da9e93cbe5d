//! The sync module's own endpoints (DESIGN §7): queue, configuration, history, content types
//! and audit. Managers see their store; admins see everything and change the configuration.

use axum::{
    extract::{Path, State},
    routing::{get, post},
    Json, Router,
};
use pronto_shared::{
    api::{
        conflicts::{ConflictQuery, ConflictView, ResolveInput},
        devices::StrandedOp,
    },
    sync::{config, events::Event, ModelConfig, Op, OpResult},
    Action,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::answers::Discarded;
use crate::{
    auth::CurrentUser,
    db,
    extract::{AppJson, AppQuery},
    model::dead_letters,
    sync::{
        audit::{self, Entry},
        config_store,
        push::{self, DeviceCtx},
        queue, resolve, sessions,
    },
    AppError, AppState,
};
use pronto_shared::api::supervision::{Integrity, QueuedOp, SessionRecord, StoredAuditEntry};

/// Conflicts of the stores the person supervises: `?estado=pendiente` (default) or `resuelto`.
#[utoipa::path(
    get,
    path = "/api/sincronizacion/conflictos/",
    tag = "supervision",
    params(ConflictQuery),
    responses((status = 200, description = "Conflictos", body = Vec<ConflictView>)),
)]
async fn conflicts(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(query): AppQuery<ConflictQuery>,
) -> Result<Json<Vec<ConflictView>>, AppError> {
    let pending = match query.estado.as_deref() {
        None | Some("pendiente") => true,
        Some("resuelto") => false,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "estado {other:?}: usa pendiente o resuelto"
            )))
        }
    };
    let mut conn = state.db.pool().acquire().await?;
    let page = (query.limite, query.antes);
    Ok(Json(resolve::list(&mut conn, &user, pending, page).await?))
}

/// A manager settles a held conflict with a value per field; every device gets it.
#[utoipa::path(
    post,
    path = "/api/sincronizacion/conflictos/{id}/resolver",
    tag = "supervision",
    params(("id" = Uuid, Path, description = "Conflicto")),
    request_body = ResolveInput,
    responses((status = 200, description = "Conflicto resuelto", body = ConflictView)),
)]
async fn resolve_conflict(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    AppJson(body): AppJson<ResolveInput>,
) -> Result<Json<ConflictView>, AppError> {
    let resolved = resolve::resolve(&state, &user, id, &body).await?;
    state
        .events
        .publish(Event::Conflicto {
            tienda_id: resolved.tienda_id,
            modelo: resolved.modelo.clone(),
            entidad_id: resolved.entidad_id,
            estado: "resuelto".into(),
        })
        .await;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok(Json(resolved))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sincronizacion/cola/", get(queue))
        .route("/sincronizacion/cola/{op_id}/reintentar", post(retry))
        .route("/sincronizacion/cola/{op_id}/descartar", post(discard))
        .route(
            "/sincronizacion/configuracion/",
            get(read_config).put(write_config),
        )
        .route("/sincronizacion/en-dispositivos/", get(stranded))
        .route("/sincronizacion/registros/", get(history))
        .route("/sincronizacion/conflictos/", get(conflicts))
        .route(
            "/sincronizacion/conflictos/{id}/resolver",
            post(resolve_conflict),
        )
        .route("/sincronizacion/content-types/", get(content_types))
        .route("/sincronizacion/auditoria/", get(audit_log))
        .route("/sincronizacion/auditoria/integridad", get(integrity))
}

/// The store a request is about: the session's, or for an admin the one named (or all).
fn scope(user: &CurrentUser, requested: Option<Uuid>) -> Result<Option<Uuid>, AppError> {
    let store = user.principal().scope(requested);
    match store {
        Some(store) => user.require(Action::SuperviseSync(store))?,
        None => user.require(Action::ConfigureSync)?,
    }
    Ok(store)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    #[serde(default)]
    estado: Option<String>,
    #[serde(default)]
    dispositivo: Option<Uuid>,
    #[serde(default)]
    tienda_id: Option<Uuid>,
    #[serde(default)]
    limite: Option<i64>,
    /// The next page: ops listed after this one (the last of the previous page).
    #[serde(default)]
    antes: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/sincronizacion/cola/",
    tag = "supervision",
    params(QueueQuery),
    responses((status = 200, description = "Operaciones de la cola", body = Vec<QueuedOp>)),
)]
async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<QueueQuery>,
) -> Result<Json<Vec<queue::QueuedOp>>, AppError> {
    let store = scope(&user, q.tienda_id)?;
    let filter = queue::Filter {
        status: q.estado,
        device: q.dispositivo,
        store,
        limit: q.limite.unwrap_or(200),
        before: q.antes,
    };
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(queue::list(&mut conn, &filter).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StoreQuery {
    #[serde(default)]
    tienda_id: Option<Uuid>,
}

/// Ops stranded in the dead letters of the store's devices, as the devices reported them.
#[utoipa::path(
    get,
    path = "/api/sincronizacion/en-dispositivos/",
    tag = "supervision",
    params(StoreQuery),
    responses((status = 200, description = "Operaciones varadas en los dispositivos", body = Vec<StrandedOp>)),
)]
async fn stranded(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<StoreQuery>,
) -> Result<Json<Vec<StrandedOp>>, AppError> {
    let store = scope(&user, q.tienda_id)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(dead_letters::list(&mut conn, store).await?))
}

async fn stored_op(
    conn: &mut sqlx::AnyConnection,
    op_id: Uuid,
) -> Result<(Op, String, OpResult, DeviceCtx), AppError> {
    let row: Option<(String, String, String, String)> =
        sqlx::query_as("SELECT op, status, result, device_id FROM sync_ops WHERE op_id = $1")
            .bind(op_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let (op, status, result, device) =
        row.ok_or_else(|| AppError::NotFound(format!("operación {op_id}")))?;
    let op: Op =
        serde_json::from_str(&op).map_err(|e| AppError::Internal(format!("stored op: {e}")))?;
    let result: OpResult = serde_json::from_str(&result)
        .map_err(|e| AppError::Internal(format!("stored result: {e}")))?;
    let row: push::DeviceRow = sqlx::query_as(&format!(
        "SELECT {} FROM devices WHERE id = $1",
        push::DEVICE_COLUMNS
    ))
    .bind(&device)
    .fetch_one(&mut *conn)
    .await?;
    let ctx = push::device_ctx(db::uuid(&device)?, row)?;
    Ok((op, status, result, ctx))
}

/// Whether a stored op may be retried or discarded by this person: a refused op by an admin;
/// an op held for a manager (unsigned, of an earlier release) by whoever supervises its
/// store's sync.
fn may_settle(
    user: &CurrentUser,
    status: &str,
    result: &OpResult,
    device: &DeviceCtx,
) -> Result<(), AppError> {
    match (status, result) {
        ("rejected", _) => user.require(Action::ConfigureSync),
        ("pending", OpResult::Held { .. }) => user.require(Action::SuperviseSync(device.store_id)),
        _ => Err(AppError::Conflict(
            "Solo se reintentan o descartan operaciones rechazadas o en espera del gerente.".into(),
        )),
    }
}

/// Apply a stored op again: an admin retries a refused one (e.g. after restoring its author's
/// access), a manager accepts one held for them. Its signature is checked again.
#[utoipa::path(
    post,
    path = "/api/sincronizacion/cola/{op_id}/reintentar",
    tag = "supervision",
    params(("op_id" = Uuid, Path, description = "Operación")),
    responses((status = 200, description = "La nueva respuesta", body = OpResult)),
)]
async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(op_id): Path<Uuid>,
) -> Result<Json<OpResult>, AppError> {
    let op = {
        let mut conn = state.db.pool().acquire().await?;
        stored_op(&mut conn, op_id).await?.0
    };
    let grant = push::retry_grant(&state, &op).await?;
    let mut tx = state.db.begin_write().await?;
    let (op, status, result, device) = stored_op(&mut tx, op_id).await?;
    may_settle(&user, &status, &result, &device)?;
    let grant = match grant {
        Ok(grant) => grant,
        Err(refused) => return Ok(Json(refused)),
    };
    let margin = state.auth.clock_margin_ms();
    let result = push::retry(&mut tx, &op, grant, device, state.clock.clone(), margin).await?;
    tx.commit().await?;
    state
        .events
        .publish(Event::Cambios { tienda_id: None })
        .await;
    Ok(Json(result))
}

/// Give up on a refused (admin) or held (manager) op for good: it stays in the log, marked
/// discarded.
#[utoipa::path(
    post,
    path = "/api/sincronizacion/cola/{op_id}/descartar",
    tag = "supervision",
    params(("op_id" = Uuid, Path, description = "Operación")),
    responses((status = 200, description = "Operación descartada", body = Discarded)),
)]
async fn discard(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(op_id): Path<Uuid>,
) -> Result<Json<Discarded>, AppError> {
    let mut tx = state.db.begin_write().await?;
    let (op, status, result, device) = stored_op(&mut tx, op_id).await?;
    may_settle(&user, &status, &result, &device)?;
    sqlx::query("UPDATE sync_ops SET status = 'discarded' WHERE op_id = $1")
        .bind(op_id.to_string())
        .execute(&mut *tx)
        .await?;
    let entry = Entry {
        at: state.clock.now_rfc3339(),
        user_id: Some(user.id().to_string()),
        device_id: Some(device.id.to_string()),
        op_id: Some(op_id.to_string()),
        model: op.body.model.clone(),
        entity_id: op.body.entity_id.to_string(),
        result: "discarded".into(),
        before: None,
        after: None,
    };
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(Discarded {
        op_id,
        estado: "discarded",
    }))
}

#[utoipa::path(
    get,
    path = "/api/sincronizacion/configuracion/",
    tag = "supervision",
    responses((status = 200, description = "Estrategia y campos excluidos por modelo", body = Vec<ModelConfig>)),
)]
async fn read_config(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Vec<ModelConfig>>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(config_store::all(&mut conn).await?))
}

/// Admin: replace one model's configuration (validated; effective for the next op).
#[utoipa::path(
    put,
    path = "/api/sincronizacion/configuracion/",
    tag = "supervision",
    request_body = ModelConfig,
    responses((status = 200, description = "Configuración guardada", body = ModelConfig)),
)]
async fn write_config(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<ModelConfig>,
) -> Result<Json<ModelConfig>, AppError> {
    user.require(Action::ConfigureSync)?;
    body.validate()?;
    let mut tx = state.db.begin_write().await?;
    let before = config_store::get(&mut tx, &body.model).await?;
    let at = state.clock.now_rfc3339();
    config_store::put(&mut tx, &body, &user.id().to_string(), &at).await?;
    let entry = Entry {
        at,
        user_id: Some(user.id().to_string()),
        device_id: None,
        op_id: None,
        model: "sincronizacion.Configuracion".into(),
        entity_id: body.model.clone(),
        result: "config".into(),
        before: serde_json::to_value(before).ok(),
        after: serde_json::to_value(&body).ok(),
    };
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Json(body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    #[serde(default)]
    dispositivo: Option<Uuid>,
    #[serde(default)]
    tienda_id: Option<Uuid>,
    #[serde(default)]
    limite: Option<i64>,
    /// The next page: sessions that started before this one (the last of the previous page).
    #[serde(default)]
    antes: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/sincronizacion/registros/",
    tag = "supervision",
    params(HistoryQuery),
    responses((status = 200, description = "Sesiones de sincronización", body = Vec<SessionRecord>)),
)]
async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> Result<Json<Vec<sessions::SessionRecord>>, AppError> {
    let store = scope(&user, q.tienda_id)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(
        sessions::list(
            &mut conn,
            (store, q.dispositivo),
            q.limite.unwrap_or(100),
            q.antes,
        )
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ContentType {
    model: String,
    fields: Vec<&'static str>,
    excluded_fields: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/sincronizacion/content-types/",
    tag = "supervision",
    responses((status = 200, description = "Campos de cada modelo", body = Vec<ContentType>)),
)]
async fn content_types(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Vec<ContentType>>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    let mut out = Vec::new();
    for c in config_store::all(&mut conn).await? {
        let fields = config::model_fields(&c.model).unwrap_or_default().to_vec();
        out.push(ContentType {
            model: c.model,
            fields,
            excluded_fields: c.excluded_fields,
        });
    }
    Ok(Json(out))
}

#[utoipa::path(
    get,
    path = "/api/sincronizacion/auditoria/",
    tag = "supervision",
    params(audit::Filter),
    responses((status = 200, description = "Bitácora de auditoría", body = Vec<StoredAuditEntry>)),
)]
async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<audit::Filter>,
) -> Result<Json<Vec<audit::Stored>>, AppError> {
    let store = scope(&user, None)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(audit::list(&mut conn, &q, store).await?))
}

/// Admin: walk the whole chain. `ok`, or the first entry that was edited or deleted.
#[utoipa::path(
    get,
    path = "/api/sincronizacion/auditoria/integridad",
    tag = "supervision",
    responses((status = 200, description = "Integridad de la cadena", body = Integrity)),
)]
async fn integrity(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<audit::Integrity>, AppError> {
    user.require(Action::ConfigureSync)?;
    let mut conn = state.db.pool().acquire().await?;
    Ok(Json(audit::verify(&mut conn).await?))
}
