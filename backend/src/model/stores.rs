//! Stores (`tienda`).

use pronto_shared::api::auth::{StoreRef, DEFAULT_ZONE};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<StoreRef>, AppError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, code, name, time_zone FROM stores ORDER BY code")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, codigo, nombre, zona_horaria)| {
            Ok(StoreRef {
                id: db::uuid(&id)?,
                codigo,
                nombre,
                zona_horaria,
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

/// The store's time zone (its day); Mexico's central zone for a store that is not there.
pub async fn time_zone(conn: &mut AnyConnection, id: Uuid) -> Result<String, AppError> {
    let zone: Option<String> = sqlx::query_scalar("SELECT time_zone FROM stores WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(zone.unwrap_or_else(|| DEFAULT_ZONE.to_owned()))
}

pub async fn insert(conn: &mut AnyConnection, store: &StoreRef, now: &str) -> Result<(), AppError> {
    if jiff::tz::TimeZone::get(&store.zona_horaria).is_err() {
        let mut fields = pronto_shared::domain::FieldErrors::new();
        fields.add(
            "zona_horaria",
            "Zona horaria desconocida, por ejemplo America/Mexico_City.",
        );
        return Err(AppError::Validation(fields));
    }
    sqlx::query(
        "INSERT INTO stores (id, code, name, time_zone, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(store.id.to_string())
    .bind(&store.codigo)
    .bind(&store.nombre)
    .bind(&store.zona_horaria)
    .bind(now)
    .execute(conn)
    .await
    .map_err(|err| db::on_unique(err, "Ya existe una tienda con ese código."))?;
    Ok(())
}
