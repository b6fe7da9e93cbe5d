//! What devices report stranded in their dead letters (`device_dead_letters`): each report
//! replaces the device's last one. An op the server holds as applied (or archived after
//! applying) is not stranded, whatever the device says, and is left out.

use pronto_shared::api::devices::{DeadLetterReport, StrandedOp};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::{db, AppError};

/// Replaces `device`'s reported letters with `letters`; returns how many were kept.
pub async fn replace(
    conn: &mut AnyConnection,
    device: Uuid,
    letters: &[DeadLetterReport],
    at: &str,
    by: Uuid,
) -> Result<usize, AppError> {
    sqlx::query("DELETE FROM device_dead_letters WHERE device_id = $1")
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    let mut kept = 0;
    for letter in letters {
        let op_id = letter.op_id.to_string();
        let applied: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM sync_ops WHERE op_id = $1 AND status = 'applied') \
                  + (SELECT COUNT(*) FROM sync_ops_archive WHERE op_id = $1)",
        )
        .bind(&op_id)
        .fetch_one(&mut *conn)
        .await?;
        if applied > 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO device_dead_letters \
             (device_id, op_id, seq, model, entity_id, code, reason, reported_at, reported_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(device.to_string())
        .bind(&op_id)
        .bind(i64::try_from(letter.seq).unwrap_or(i64::MAX))
        .bind(&letter.modelo)
        .bind(letter.entidad_id.to_string())
        .bind(&letter.codigo)
        .bind(&letter.motivo)
        .bind(at)
        .bind(by.to_string())
        .execute(&mut *conn)
        .await?;
        kept += 1;
    }
    Ok(kept)
}

/// The reported letters of `store`'s devices (every store's when `None`), newest report
/// first, then by device and seq.
pub async fn list(
    conn: &mut AnyConnection,
    store: Option<Uuid>,
) -> Result<Vec<StrandedOp>, AppError> {
    let sql =
        format!(
        "SELECT l.device_id, d.name AS device, d.store_id, l.op_id, l.seq, l.model, l.entity_id, \
                l.code, l.reason, l.reported_at, u.display_name AS reporter \
         FROM device_dead_letters l \
         JOIN devices d ON d.id = l.device_id \
         JOIN users u ON u.id = l.reported_by \
         {} ORDER BY l.reported_at DESC, d.name, l.seq",
        if store.is_some() { "WHERE d.store_id = $1" } else { "" }
    );
    let mut query = sqlx::query(&sql);
    if let Some(store) = store {
        query = query.bind(store.to_string());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            Ok(StrandedOp {
                dispositivo_id: db::uuid(&row.try_get::<String, _>("device_id")?)?,
                dispositivo: row.try_get("device")?,
                tienda_id: db::uuid(&row.try_get::<String, _>("store_id")?)?,
                op_id: db::uuid(&row.try_get::<String, _>("op_id")?)?,
                seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
                modelo: row.try_get("model")?,
                entidad_id: db::uuid(&row.try_get::<String, _>("entity_id")?)?,
                codigo: row.try_get("code")?,
                motivo: row.try_get("reason")?,
                reportada: row.try_get("reported_at")?,
                reportada_por: row.try_get("reporter")?,
            })
        })
        .collect()
}
