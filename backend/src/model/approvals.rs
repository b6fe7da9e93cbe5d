//! Discount approvals (shared `api::approval`): the store's limit, the managers' approval keys,
//! and the check of a sale's signed approval.

use pronto_shared::{
    api::{
        approval::{self, Approval, ApprovalStatus, Approver, SalesPolicy},
        sales::ValidSale,
    },
    Action, Principal, Role,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::{db, AppError};

/// The store's discount limit in percent.
pub async fn limit(conn: &mut AnyConnection, store: Uuid) -> Result<i64, AppError> {
    let limit: Option<i64> =
        sqlx::query_scalar("SELECT discount_limit_pct FROM stores WHERE id = $1")
            .bind(store.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    limit.ok_or_else(|| AppError::NotFound(format!("tienda {store}")))
}

pub async fn set_limit(
    conn: &mut AnyConnection,
    store: Uuid,
    percent: i64,
) -> Result<(), AppError> {
    sqlx::query("UPDATE stores SET discount_limit_pct = $1 WHERE id = $2")
        .bind(percent)
        .bind(store.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What the tills of `store` need: the limit, and the active managers of the store (and
/// admins) who have set a PIN, with the salt and verifier of their key — never the key.
pub async fn policy(conn: &mut AnyConnection, store: Uuid) -> Result<SalesPolicy, AppError> {
    let limit = limit(conn, store).await?;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, display_name, approval_salt, approval_key FROM users \
         WHERE active = 1 AND approval_key IS NOT NULL AND approval_salt IS NOT NULL \
         AND ((role = 'gerente' AND store_id = $1) OR role = 'admin') ORDER BY display_name",
    )
    .bind(store.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut approvers = Vec::with_capacity(rows.len());
    for (id, name, salt, key) in rows {
        let key = key_of(&key)?;
        approvers.push(Approver {
            id: db::uuid(&id)?,
            nombre: name,
            sal: salt,
            verificador: approval::verifier(&key),
        });
    }
    Ok(SalesPolicy {
        descuento_sin_autorizacion: limit,
        autorizadores: approvers,
    })
}

fn key_of(hex: &str) -> Result<[u8; 32], AppError> {
    ::hex::decode(hex)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| AppError::Internal("stored approval key is not 32 bytes".into()))
}

/// Stores a manager's approval key for `pin` (derived on the blocking pool: argon2id).
pub async fn set_pin(conn: &mut AnyConnection, user: Uuid, pin: String) -> Result<(), AppError> {
    let salt: [u8; 16] = rand::random();
    let key = tokio::task::spawn_blocking(move || approval::derive_key(&pin, &salt))
        .await
        .map_err(|e| AppError::Internal(format!("pin task: {e}")))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    sqlx::query("UPDATE users SET approval_salt = $1, approval_key = $2 WHERE id = $3")
        .bind(::hex::encode(salt))
        .bind(::hex::encode(key))
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Where a sale of `store` stands: within the limit (and at prices its device could have
/// known: `shortfall` is how far below them it sold), approved by a manager of the store whose
/// signature covers the discounts and the shortfall (`Some(manager)`), or flagged.
pub async fn judge(
    conn: &mut AnyConnection,
    store: Uuid,
    limit: i64,
    sale_id: Uuid,
    sale: &ValidSale,
    shortfall: i64,
    approval: Option<&Approval>,
) -> Result<(ApprovalStatus, Option<Uuid>), AppError> {
    if !approval::needs_approval_priced(sale, shortfall, limit) {
        return Ok((ApprovalStatus::NoRequerida, None));
    }
    let Some(approval) = approval else {
        return Ok((ApprovalStatus::SinAutorizacion, None));
    };
    let row: Option<(String, String, i64, Option<String>)> =
        sqlx::query_as("SELECT role, store_id, active, approval_key FROM users WHERE id = $1")
            .bind(approval.gerente_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let Some((role, user_store, active, Some(key))) = row else {
        return Ok((ApprovalStatus::SinAutorizacion, None));
    };
    let approver = Role::parse(&role).zip(Uuid::parse_str(&user_store).ok());
    let may_approve = active == 1
        && approver.is_some_and(|(role, store_id)| {
            Principal { role, store_id }.can(Action::ApproveDiscount(store))
        });
    let signed = approval::check(
        &key_of(&key)?,
        sale_id,
        approval.gerente_id,
        approval::approved_discount(sale, shortfall),
        &approval.firma,
    );
    Ok(if may_approve && signed {
        (ApprovalStatus::Autorizada, Some(approval.gerente_id))
    } else {
        (ApprovalStatus::SinAutorizacion, None)
    })
}
