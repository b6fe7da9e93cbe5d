//! `/api/sync/push` and `/api/sync/pull` (DESIGN §4).

use axum::{
    extract::{DefaultBodyLimit, State},
    routing::{get, post},
    Json, Router,
};
use pronto_shared::sync::{PullReply, PushReply, PushRequest};
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

async fn push_batch(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(request): AppJson<PushRequest>,
) -> Result<Json<PushReply>, AppError> {
    Ok(Json(push::push(&state, &user, request).await?))
}

#[derive(Debug, Deserialize)]
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

async fn pull_page(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(params): AppQuery<PullParams>,
) -> Result<Json<PullReply>, AppError> {
    let mut conn = state.db.pool().acquire().await?;
    let device = push::device_for(&mut conn, &user, params.dispositivo).await?;
    let reply = pull::pull(&mut conn, device.store_id, params.cursor, params.limit).await?;
    let counts = sessions::Counts {
        pulled: reply.changes.len() as i64,
        ..Default::default()
    };
    let (at, window) = (state.clock.now_rfc3339(), state.session_window_start());
    sessions::record(
        &mut conn,
        device.id,
        user.id(),
        device.store_id,
        &at,
        &window,
        counts,
    )
    .await?;
    Ok(Json(reply))
}
