//! Devices: a browser install registered to one store. The code (`C01`, `C02`, …) is unique in
//! the store and goes into sale folios.

use pronto_shared::api::devices::Device;
use sqlx::{any::AnyRow, AnyConnection, Row};
use uuid::Uuid;

use crate::{db, AppError};

fn from_row(row: &AnyRow) -> Result<Device, AppError> {
    let id: String = row.try_get("id")?;
    let store: String = row.try_get("store_id")?;
    let by: String = row.try_get("registered_by")?;
    Ok(Device {
        id: db::uuid(&id)?,
        nombre: row.try_get("name")?,
        tienda_id: db::uuid(&store)?,
        codigo: row.try_get("code")?,
        registrado_por: db::uuid(&by)?,
        creado: row.try_get("created_at")?,
        visto: row.try_get("last_seen_at")?,
        conectado: row.try_get::<i64, _>("sockets")? > 0,
        activo: row.try_get::<i64, _>("active")? != 0,
        reloj_adelantado_ms: row.try_get("clock_ahead_ms")?,
    })
}

const COLUMNS: &str =
    "id, store_id, code, name, registered_by, created_at, last_seen_at, sockets, \
                       active, clock_ahead_ms";

/// A socket of the device opened (`true`) or closed (`false`) now.
pub async fn socket(
    conn: &mut AnyConnection,
    id: Uuid,
    opened: bool,
    at: &str,
) -> Result<(), AppError> {
    let count = if opened {
        "sockets + 1"
    } else {
        "CASE WHEN sockets > 0 THEN sockets - 1 ELSE 0 END"
    };
    sqlx::query(&format!(
        "UPDATE devices SET sockets = {count}, last_seen_at = $1 WHERE id = $2"
    ))
    .bind(at)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Stamps every device in `ids` as heard at `at`: one statement for all of them.
pub async fn seen(conn: &mut AnyConnection, ids: &[Uuid], at: &str) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE devices SET last_seen_at = $1 WHERE id IN ({})",
        db::marks(2, ids.len())
    );
    let mut query = sqlx::query(&sql).bind(at);
    for id in ids {
        query = query.bind(id.to_string());
    }
    query.execute(conn).await?;
    Ok(())
}

pub async fn register(
    conn: &mut AnyConnection,
    id: Uuid,
    store_id: Uuid,
    name: &str,
    user_id: Uuid,
    now: &str,
) -> Result<Device, AppError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE store_id = $1")
        .bind(store_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    let code = format!("C{:02}", count + 1);
    sqlx::query(
        "INSERT INTO devices (id, store_id, code, name, registered_by, created_at, last_seq, \
         pulled_seq, price_floor_seq) \
         SELECT $1, $2, $3, $4, $5, $6, 0, value, value FROM change_counter WHERE id = 1",
    )
    .bind(id.to_string())
    .bind(store_id.to_string())
    .bind(&code)
    .bind(name)
    .bind(user_id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|err| {
        db::on_unique(
            err,
            "No se pudo asignar un código al dispositivo; intenta de nuevo.",
        )
    })?;
    get(conn, id)
        .await?
        .ok_or_else(|| AppError::Internal("device vanished after insert".into()))
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Device>, AppError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM devices WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Devices of one store, or of all stores when `store_id` is `None`.
pub async fn list(
    conn: &mut AnyConnection,
    store_id: Option<Uuid>,
) -> Result<Vec<Device>, AppError> {
    let base = format!("SELECT {COLUMNS} FROM devices");
    let rows = match store_id {
        Some(store) => {
            sqlx::query(&format!("{base} WHERE store_id = $1 ORDER BY code"))
                .bind(store.to_string())
                .fetch_all(conn)
                .await?
        }
        None => {
            sqlx::query(&format!("{base} ORDER BY store_id, code"))
                .fetch_all(conn)
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Whether the device is in service (a deactivated one keeps its row and history).
pub async fn is_active(conn: &mut AnyConnection, id: Uuid) -> Result<bool, AppError> {
    let active: Option<i64> = sqlx::query_scalar("SELECT active FROM devices WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(active == Some(1))
}

pub async fn set_active(conn: &mut AnyConnection, id: Uuid, active: bool) -> Result<(), AppError> {
    sqlx::query("UPDATE devices SET active = $1 WHERE id = $2")
        .bind(i64::from(active))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The device's last pull reached change position `cursor`.
pub async fn pulled(conn: &mut AnyConnection, id: Uuid, cursor: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE devices SET pulled_seq = $1 WHERE id = $2 AND pulled_seq < $1")
        .bind(cursor)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
