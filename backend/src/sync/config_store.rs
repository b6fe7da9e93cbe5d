//! The live per-model sync configuration: the file default (`pronto_shared::sync::config`)
//! until an admin changes a model, then the stored copy. Read inside the applying transaction,
//! so an edit is effective for the next op.

use pronto_shared::sync::{config, ModelConfig};
use sqlx::AnyConnection;

use crate::AppError;

/// The configuration of `model`, or `None` for a model that does not sync.
pub async fn get(conn: &mut AnyConnection, model: &str) -> Result<Option<ModelConfig>, AppError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT config FROM sync_config WHERE model = $1")
            .bind(model)
            .fetch_optional(conn)
            .await?;
    match stored {
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| AppError::Internal(format!("stored sync config of {model}: {e}"))),
        None => Ok(config::defaults().into_iter().find(|c| c.model == model)),
    }
}

/// Every synced model's configuration, in one query.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<ModelConfig>, AppError> {
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT model, config FROM sync_config")
        .fetch_all(conn)
        .await?;
    config::defaults()
        .into_iter()
        .map(
            |default| match stored.iter().find(|(m, _)| *m == default.model) {
                Some((model, json)) => serde_json::from_str(json)
                    .map_err(|e| AppError::Internal(format!("stored sync config of {model}: {e}"))),
                None => Ok(default),
            },
        )
        .collect()
}

/// Stores an admin's validated edit.
pub async fn put(
    conn: &mut AnyConnection,
    config: &ModelConfig,
    user: &str,
    at: &str,
) -> Result<(), AppError> {
    config.validate()?;
    let json = serde_json::to_string(config).map_err(|e| AppError::Internal(e.to_string()))?;
    sqlx::query(
        "INSERT INTO sync_config (model, config, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (model) DO UPDATE SET config = excluded.config, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(&config.model)
    .bind(json)
    .bind(user)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}
