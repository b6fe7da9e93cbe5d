//! `/api/sync/push` and `/api/sync/pull` (DESIGN §4).

use axum::{
    extract::{DefaultBodyLimit, State},
    routing::{get, post},
    Json, Router,
};
use pronto_shared::sync::{
    config::{CLIENTE, PRODUCTO},
    conflict::Outcome,
    events::Event,
    OpResult, PullReply, PushReply, PushRequest,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::CurrentUser,
    extract::{AppJson, AppQuery},
    sync::{pull, push, sessions},
    AppError, AppState,
};

/// A batch of 1,000 ops with a full sale each stays well under this.
pub const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sync/push",
            post(push_batch).layer(DefaultBodyLimit::max(MAX_PUSH_BYTES)),
        )
        .route("/sync/pull", get(pull_page))
}

#[utoipa::path(
    post,
    path = "/api/sync/push",
    tag = "sincronizacion",
    request_body = PushRequest,
    responses((status = 200, description = "Una respuesta por operación", body = PushReply)),
)]
async fn push_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(request): AppJson<PushRequest>,
) -> Result<Json<PushReply>, AppError> {
    let ops: Vec<(String, Uuid)> = request
        .ops
        .iter()
        .map(|op| (op.body.model.clone(), op.body.entity_id))
        .collect();
    let device_id = request.device_id;
    let started = std::time::Instant::now();
    let reply = push::push(&state, &user, request).await?;
    let models: Vec<String> = ops.iter().map(|(model, _)| model.clone()).collect();
    crate::metrics::pushed(&models, &reply.results, started.elapsed());
    // Committed: tell the sockets.
    let store = {
        let mut conn = state.db.pool().acquire().await?;
        push::device_for(&mut conn, &user, device_id)
            .await?
            .store_id
    };
    for event in events_of(store, device_id, &ops, &reply, state.clock.now_rfc3339()) {
        state.events.publish(event).await;
    }
    Ok(Json(reply))
}

/// What a push tells the sockets: pokes for the data that changed (the chain's catalog and
/// customers, or the store's stock and sales), each conflict, the queue, the device's sync.
fn events_of(
    store: Uuid,
    device: Uuid,
    ops: &[(String, Uuid)],
    reply: &PushReply,
    at: String,
) -> Vec<Event> {
    let (mut applied, mut conflicts, mut rejected) = (0_u32, 0_u32, 0_u32);
    let (mut shared, mut local) = (false, false);
    let mut events = Vec::new();
    for ((model, entity), result) in ops.iter().zip(&reply.results) {
        let changed = match result {
            OpResult::Applied { .. } => true,
            OpResult::Conflict { conflict, .. } => {
                conflicts += 1;
                events.push(Event::Conflicto {
                    tienda_id: store,
                    modelo: model.clone(),
                    entidad_id: *entity,
                    estado: if conflict.outcome == Outcome::Pending {
                        "pendiente"
                    } else {
                        "resuelto"
                    }
                    .into(),
                });
                true
            }
            OpResult::Rejected { .. } => {
                rejected += 1;
                false
            }
            OpResult::Duplicate { .. } | OpResult::Held { .. } => false,
        };
        if changed {
            applied += 1;
            if model == PRODUCTO || model == CLIENTE {
                shared = true;
            } else {
                local = true;
            }
        }
    }
    if shared {
        events.push(Event::Cambios { tienda_id: None });
    }
    if local {
        events.push(Event::Cambios {
            tienda_id: Some(store),
        });
    }
    if !ops.is_empty() {
        events.push(Event::Cola {
            tienda_id: store,
            dispositivo_id: device,
            aplicadas: applied,
            rechazadas: rejected,
        });
        events.push(Event::Sincronizacion {
            tienda_id: store,
            dispositivo_id: device,
            aplicadas: applied,
            conflictos: conflicts,
            rechazadas: rejected,
            en: at,
        });
    }
    events
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PullParams {
    dispositivo: Uuid,
    #[serde(default)]
    cursor: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    500
}

#[utoipa::path(
    get,
    path = "/api/sync/pull",
    tag = "sincronizacion",
    params(PullParams),
    responses((status = 200, description = "Una página de cambios", body = PullReply)),
)]
async fn pull_page(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(params): AppQuery<PullParams>,
) -> Result<Json<PullReply>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    let device = push::device_for(&mut conn, &user, params.dispositivo).await?;
    let mut reply = pull::pull(&mut conn, device.store_id, params.cursor, params.limit).await?;
    reply.instance = Some(pull::instance(&mut conn, &state.instance).await?);
    crate::metrics::pull_page();
    // What it could know from now on: the price floor of its next push (`approval`).
    crate::model::devices::pulled(&mut conn, device.id, reply.cursor).await?;
    if !reply.has_more {
        reply.held_for_manager =
            Some(pull::held_for_manager(&mut conn, device.store_id, device.id).await?);
        reply.device_seq = Some(u64::try_from(device.last_seq).unwrap_or(0));
    }
    let counts = sessions::Counts {
        pulled: reply.changes.len() as i64,
        ..Default::default()
    };
    sessions::record(
        &mut conn,
        state.clock.as_ref(),
        device.id,
        user.id(),
        device.store_id,
        counts,
    )
    .await?;
    Ok(Json(reply))
}
