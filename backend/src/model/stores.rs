//! Stores (`tienda`).

use pronto_shared::api::auth::StoreRef;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StoreRef>, AppError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, code, name FROM stores ORDER BY code")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, codigo, nombre)| {
            Ok(StoreRef {
                id: db::uuid(&id)?,
                codigo,
                nombre,
            })
        })
        .collect()
}

pub async fn exists(conn: &mut AnyConnection, id: Uuid) -> Result<bool, AppError> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM stores WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

pub async fn code(conn: &mut AnyConnection, id: Uuid) -> Result<String, AppError> {
    sqlx::query_scalar("SELECT code FROM stores WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("tienda {id}")))
}

pub async fn insert(conn: &mut AnyConnection, store: &StoreRef, now: &str) -> Result<(), AppError> {
    sqlx::query("INSERT INTO stores (id, code, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(store.id.to_string())
        .bind(&store.codigo)
        .bind(&store.nombre)
        .bind(now)
        .execute(conn)
        .await
        .map_err(|err| db::on_unique(err, "Ya existe una tienda con ese código."))?;
    Ok(())
}
