//! Create, update and delete ops on the shared records (`productos.Producto`,
//! `clientes.Cliente`): load the row, ask the shared conflict rule what the op does
//! (`conflict::decide`), let shared settle the row it returns and validate it with the REST
//! rules (`records::settle`), write that (`model::synced::store`).

use pronto_shared::{
    sync::{
        config::{CLIENTE, PRODUCTO},
        conflict::{self, Change, ConflictRecord},
        records::{self, ValidRecord},
        ModelConfig, OpBody, OpKind,
    },
    Action,
};
use serde_json::Value;
use sqlx::AnyConnection;

use super::push::Refusal;
use crate::{
    db,
    model::{
        customers::{self, NewCustomers},
        products, synced, WriteAt,
    },
    AppError,
};

/// What applying the op did.
pub struct Applied {
    pub version: i64,
    pub conflict: Option<ConflictRecord>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The action an op needs, for the access check.
pub fn action_for(model: &str, kind: OpKind) -> Option<Action> {
    match (model, kind) {
        (PRODUCTO, OpKind::Create | OpKind::Update | OpKind::Delete) => Some(Action::EditCatalog),
        (CLIENTE, OpKind::Create) => Some(Action::CreateCustomer),
        (CLIENTE, OpKind::Update) => Some(Action::EditCustomer),
        (CLIENTE, OpKind::Delete) => Some(Action::DeleteCustomer),
        _ => None,
    }
}

/// Applies a create, update or delete. `Ok(Err(refusal))`: a domain refusal to answer as
/// `rejected`; `Err`: the database failed.
pub async fn apply(
    conn: &mut AnyConnection,
    op: &OpBody,
    config: &ModelConfig,
    at: &str,
    seqs: &mut db::ChangeSeqs,
    new_customers: &mut NewCustomers,
) -> Result<Result<Applied, Refusal>, AppError> {
    if op
        .fields
        .keys()
        .any(|f| records::COMPUTED.contains(&f.as_str()))
    {
        return Ok(Err(Refusal::invalid(
            "Los puntos se calculan con las ventas; no se editan.",
        )));
    }
    if op.kind == OpKind::Create {
        return create(conn, op, at, seqs, new_customers).await;
    }
    let existing = synced::load(conn, &op.model, op.entity_id).await?;
    let Some(loaded) = existing else {
        return Ok(Err(Refusal {
            status: 404,
            code: "not_found",
            reason: "El registro no existe.".into(),
        }));
    };
    let Some(base) = op.base_version else {
        return Ok(Err(Refusal::invalid("Falta base_version.")));
    };
    let change = match op.kind {
        OpKind::Delete => Change::Delete,
        _ => Change::Update(&op.fields),
    };
    let decision = conflict::decide(&loaded.row, change, base, &op.hlc, config.estrategia);
    let conflict = decision.conflict().cloned();
    let settled = match records::settle(&op.model, &loaded.row, &decision, &op.hlc) {
        Ok(Some(settled)) => settled,
        Ok(None) => {
            return Ok(Ok(Applied {
                version: loaded.row.version,
                conflict,
                before: Some(loaded.json),
                after: None,
            }))
        }
        Err(errors) => return Ok(Err(Refusal::invalid(errors.to_string()))),
    };
    let seq = seqs.next(conn).await?;
    let w = WriteAt {
        seq,
        at,
        hlc: &op.hlc,
    };
    synced::store(conn, &op.model, op.entity_id, &loaded.row, &settled, w).await?;
    let after = synced::load(conn, &op.model, op.entity_id).await?;
    Ok(Ok(Applied {
        version: settled.row.version,
        conflict,
        before: Some(loaded.json),
        after: after.map(|a| if a.row.deleted { Value::Null } else { a.json }),
    }))
}

/// Inserts a product; an id, SKU or barcode taken is refused by the insert itself, which
/// writes nothing then. Collects a customer for the batch's multi-row insert, refused when
/// its id is taken (`NewCustomers`). The audit's "after" is built from the validated values
/// instead of read back.
async fn create(
    conn: &mut AnyConnection,
    op: &OpBody,
    at: &str,
    seqs: &mut db::ChangeSeqs,
    new_customers: &mut NewCustomers,
) -> Result<Result<Applied, Refusal>, AppError> {
    let seq = seqs.next(conn).await?;
    let w = WriteAt {
        seq,
        at,
        hlc: &op.hlc,
    };
    let valid = match records::validate(&op.model, &op.fields) {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(Refusal::invalid(errors.to_string()))),
    };
    let inserted = match &valid {
        ValidRecord::Product(p) => products::insert(conn, op.entity_id, p, w)
            .await
            .map(|()| to_json(&p.record(op.entity_id, 1))),
        ValidRecord::Customer(c) => {
            if new_customers.add(conn, op.entity_id, c, 0, w).await? {
                Ok(to_json(&c.record(op.entity_id, 0, 1)))
            } else {
                Err(AppError::Conflict(customers::TAKEN.into()))
            }
        }
    };
    match inserted {
        Ok(after) => Ok(Ok(Applied {
            version: 1,
            conflict: None,
            before: None,
            after: Some(after?),
        })),
        Err(AppError::Conflict(reason)) => Ok(Err(Refusal {
            status: 409,
            code: "exists",
            reason,
        })),
        Err(other) => Err(other),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}
