//! People who sign in.

use pronto_shared::Role;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

/// What sign-in needs to know about an account.
pub struct Credentials {
    pub id: String,
    pub password_hash: String,
    pub active: bool,
}

pub async fn credentials(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<Credentials>, AppError> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT id, password_hash, active FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(id, password_hash, active)| Credentials {
        id,
        password_hash,
        active: active != 0,
    }))
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub store_id: Uuid,
}

pub async fn insert(
    conn: &mut AnyConnection,
    user: &NewUser<'_>,
    now: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, role, store_id, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
    )
    .bind(user.id.to_string())
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(user.role.as_str())
    .bind(user.store_id.to_string())
    .bind(now)
    .execute(conn)
    .await
    .map_err(|err| db::on_unique(err, "Ya existe un usuario con ese nombre."))?;
    Ok(())
}

/// Deactivates an account: its sessions stop working at their next request.
pub async fn set_active(conn: &mut AnyConnection, id: Uuid, active: bool) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
        .bind(i64::from(active))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn exists(conn: &mut AnyConnection, id: Uuid) -> Result<bool, AppError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// People by name: of one store, or of every store when `store_id` is `None`.
pub async fn names(
    conn: &mut AnyConnection,
    store_id: Option<Uuid>,
) -> Result<Vec<pronto_shared::api::directory::Named>, AppError> {
    let rows: Vec<(String, String, String)> = match store_id {
        Some(store) => {
            sqlx::query_as(
                "SELECT id, display_name, store_id FROM users WHERE store_id = $1 \
                 ORDER BY display_name",
            )
            .bind(store.to_string())
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_as("SELECT id, display_name, store_id FROM users ORDER BY display_name")
                .fetch_all(conn)
                .await?
        }
    };
    rows.into_iter()
        .map(|(id, nombre, store)| {
            Ok(pronto_shared::api::directory::Named {
                id: db::uuid(&id)?,
                nombre,
                tienda_id: db::uuid(&store)?,
            })
        })
        .collect()
}
