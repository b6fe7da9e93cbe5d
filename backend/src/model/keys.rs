//! Device signing keys (DESIGN §8): one per person per device, registered in that person's
//! session, revoked when the person or the device is deactivated.

use std::collections::HashMap;

use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

/// A registered key as the push path needs it.
#[derive(Debug, Clone)]
pub struct DeviceKey {
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub public_key: String,
    /// Server epoch milliseconds of the revocation, if revoked.
    pub revoked_ms: Option<i64>,
}

/// What registering a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    New,
    /// The same key was registered before for the same person and device (a retry).
    Again,
}

/// Registers `public_key` as `key_id` of `user` on `device`. The same id with another key,
/// person or device is a conflict, never an overwrite.
pub async fn register(
    conn: &mut AnyConnection,
    key_id: Uuid,
    device: Uuid,
    user: Uuid,
    public_key: &str,
    at: &str,
) -> Result<Registered, AppError> {
    let inserted = sqlx::query(
        "INSERT INTO device_keys (id, device_id, user_id, public_key, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(key_id.to_string())
    .bind(device.to_string())
    .bind(user.to_string())
    .bind(public_key)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Registered::New);
    }
    let existing = load(conn, &[key_id]).await?;
    match existing.get(&key_id) {
        Some(k)
            if k.device_id == device
                && k.user_id == user
                && k.public_key == public_key
                && k.revoked_ms.is_none() =>
        {
            Ok(Registered::Again)
        }
        _ => Err(AppError::Conflict(
            "Esa clave ya está registrada con otros datos.".into(),
        )),
    }
}

/// The keys with these ids, in one query per 500.
pub async fn load(
    conn: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, DeviceKey>, AppError> {
    let mut keys = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, device_id, user_id, public_key, revoked_ms FROM device_keys WHERE id IN ({})",
            db::marks(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, String, String, String, Option<i64>)>(&sql);
        for id in chunk {
            query = query.bind(id.to_string());
        }
        for (id, device, user, public_key, revoked_ms) in query.fetch_all(&mut *conn).await? {
            keys.insert(
                db::uuid(&id)?,
                DeviceKey {
                    device_id: db::uuid(&device)?,
                    user_id: db::uuid(&user)?,
                    public_key,
                    revoked_ms,
                },
            );
        }
    }
    Ok(keys)
}

/// Whose keys a revocation covers.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    User(Uuid),
    Device(Uuid),
}

/// Revokes every live key of `owner` as of (`at`, `ms`); returns how many.
pub async fn revoke(
    conn: &mut AnyConnection,
    owner: Owner,
    at: &str,
    ms: i64,
) -> Result<u64, AppError> {
    let (column, id) = match owner {
        Owner::User(id) => ("user_id", id),
        Owner::Device(id) => ("device_id", id),
    };
    let revoked = sqlx::query(&format!(
        "UPDATE device_keys SET revoked_at = $1, revoked_ms = $2 \
         WHERE {column} = $3 AND revoked_ms IS NULL"
    ))
    .bind(at)
    .bind(ms)
    .bind(id.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(revoked)
}
