//! The `CurrentUser` extractor: the session cookie → the signed-in person, or 401.

use axum::{extract::FromRequestParts, http::request::Parts};
use pronto_shared::{
    api::auth::{Profile, StoreRef},
    Action, Principal, Role,
};
use uuid::Uuid;

use crate::{auth::session, AppError, AppState};

/// A live session's person. Role and store come from here, never from a request body.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub profile: Profile,
    pub token_hash: String,
}

impl CurrentUser {
    pub fn principal(&self) -> Principal {
        self.profile.principal()
    }

    pub fn id(&self) -> Uuid {
        self.profile.id
    }

    pub fn store_id(&self) -> Uuid {
        self.profile.tienda.id
    }

    /// `Err(Forbidden)` unless the access rules allow `action`.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        if self.principal().can(action) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Touch `last_seen` at most this often: one write per minute per session, not per request.
const TOUCH_EVERY_MS: i64 = 60_000;

type SessionRow = (
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = session::token_from_headers(&parts.headers).ok_or(AppError::Unauthenticated)?;
        Self::from_token_hash(state, session::token_hash(&token)).await
    }
}

impl CurrentUser {
    /// The live session stored under `token_hash`: expired or closed sessions, and those of
    /// deactivated accounts, are deleted and answer 401.
    pub async fn from_token_hash(state: &AppState, token_hash: String) -> Result<Self, AppError> {
        let mut conn = state.db.pool().acquire().await?;
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT u.id, s.created_ms, s.last_seen_ms, u.username, u.display_name, u.role, \
                    st.id, st.code, st.name, u.active, st.time_zone \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN stores st ON st.id = u.store_id \
             WHERE s.token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((
            user_id,
            created,
            last_seen,
            username,
            name,
            role,
            store_id,
            code,
            store_name,
            active,
            zona_horaria,
        )) = row
        else {
            return Err(AppError::Unauthenticated);
        };
        let now = state.clock.now_ms();
        let idle = i64::try_from(state.auth.idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let absolute = i64::try_from(state.auth.absolute_timeout.as_millis()).unwrap_or(i64::MAX);
        if active == 0 || now - last_seen > idle || now - created > absolute {
            session::delete(&mut conn, &token_hash).await?;
            return Err(AppError::Unauthenticated);
        }
        if now - last_seen > TOUCH_EVERY_MS {
            sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&token_hash)
                .execute(&mut *conn)
                .await?;
        }
        let bad = |what: &str| AppError::Internal(format!("stored {what} does not parse"));
        let profile = Profile {
            id: Uuid::parse_str(&user_id).map_err(|_| bad("user id"))?,
            usuario: username,
            nombre: name,
            rol: Role::parse(&role).ok_or_else(|| bad("role"))?,
            tienda: StoreRef {
                id: Uuid::parse_str(&store_id).map_err(|_| bad("store id"))?,
                codigo: code,
                nombre: store_name,
                zona_horaria,
            },
        };
        Ok(Self {
            profile,
            token_hash,
        })
    }
}
