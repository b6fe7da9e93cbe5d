//! Create, update and delete ops on the shared records (`productos.Producto`,
//! `clientes.Cliente`): load the row, ask the shared conflict rules what the op does, validate
//! the resulting record with the same rules as the REST API, write it.

use std::collections::BTreeMap;

use pronto_shared::{
    api::{
        customers::{Customer, CustomerInput, ValidCustomer},
        products::{Product, ProductInput, ValidProduct},
    },
    sync::{
        config::{CLIENTE, PRODUCTO},
        conflict::{self, Change, ConflictRecord, Decision, FieldStamp, RowState},
        ModelConfig, OpBody, OpKind,
    },
    Action,
};
use serde_json::{Map, Value};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::push::Refusal;
use crate::{
    db,
    model::{self, customers, field_versions, products, Tombstoned, WriteAt},
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

struct Loaded {
    row: RowState,
    json: Value,
}

async fn load(conn: &mut AnyConnection, model: &str, id: Uuid) -> Result<Option<Loaded>, AppError> {
    let (json, deleted, stamps, deleted_stamp) = match model {
        PRODUCTO => match products::get_for_sync(conn, id).await? {
            Some((p, d, s, ds)) => (to_json(&p)?, d, s, ds),
            None => return Ok(None),
        },
        _ => match customers::get_for_sync(conn, id).await? {
            Some((c, d, s, ds)) => (to_json(&c)?, d, s, ds),
            None => return Ok(None),
        },
    };
    let version = json.get("version").and_then(Value::as_i64).unwrap_or(0);
    let mut fields: BTreeMap<String, Value> = match &json {
        Value::Object(map) => map.clone().into_iter().collect(),
        _ => BTreeMap::new(),
    };
    fields.remove("id");
    fields.remove("version");
    let deleted_stamp: Option<FieldStamp> = deleted_stamp
        .map(|s| serde_json::from_str(&s))
        .transpose()
        .map_err(|e| AppError::Internal(format!("deleted_stamp: {e}")))?;
    let row = RowState {
        version,
        deleted,
        deleted_stamp,
        fields,
        stamps: field_versions::parse(&stamps)?,
    };
    Ok(Some(Loaded { row, json }))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// Turns a full field map into the domain record via the REST input type, so a synced record
/// obeys exactly the rules a typed-in one does.
fn input_of<T: serde::de::DeserializeOwned>(
    fields: &BTreeMap<String, Value>,
    drop: &[&str],
) -> Result<T, Refusal> {
    let map: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(map))
        .map_err(|e| Refusal::invalid(format!("Datos no válidos: {e}")))
}

/// A full product field map as a validated product: the REST input type, then its rules.
fn valid_product(fields: &BTreeMap<String, Value>, drop: &[&str]) -> Result<ValidProduct, Refusal> {
    input_of::<ProductInput>(fields, drop)?
        .validate()
        .map_err(|errors| Refusal::invalid(errors.to_string()))
}

/// A full customer field map as a validated customer.
fn valid_customer(
    fields: &BTreeMap<String, Value>,
    drop: &[&str],
) -> Result<ValidCustomer, Refusal> {
    input_of::<CustomerInput>(fields, drop)?
        .validate()
        .map_err(|errors| Refusal::invalid(errors.to_string()))
}

async fn write_fields(
    conn: &mut AnyConnection,
    model: &str,
    id: Uuid,
    fields: &BTreeMap<String, Value>,
    merged: &BTreeMap<String, Value>,
    w: WriteAt<'_>,
) -> Result<Result<(), Refusal>, AppError> {
    let stamp: Vec<&str> = fields.keys().map(String::as_str).collect();
    match model {
        PRODUCTO => {
            let valid = match valid_product(merged, &[]) {
                Ok(v) => v,
                Err(r) => return Ok(Err(r)),
            };
            products::update(conn, id, &valid, None, w, &stamp).await?;
        }
        _ => {
            let valid = match valid_customer(merged, &["puntos"]) {
                Ok(v) => v,
                Err(r) => return Ok(Err(r)),
            };
            customers::update(conn, id, &valid, None, w, &stamp).await?;
        }
    }
    Ok(Ok(()))
}

/// Applies a create, update or delete. `Ok(Err(refusal))`: a domain refusal to answer as
/// `rejected`; `Err`: the database failed.
pub async fn apply(
    conn: &mut AnyConnection,
    op: &OpBody,
    config: &ModelConfig,
    at: &str,
    seqs: &mut db::ChangeSeqs,
) -> Result<Result<Applied, Refusal>, AppError> {
    if op.fields.contains_key("puntos") {
        return Ok(Err(Refusal::invalid(
            "Los puntos se calculan con las ventas; no se editan.",
        )));
    }
    if op.kind == OpKind::Create {
        return create(conn, op, at, seqs).await;
    }
    let existing = load(conn, &op.model, op.entity_id).await?;
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
    let Decision::Write {
        fields, deleted, ..
    } = &decision
    else {
        return Ok(Ok(Applied {
            version: loaded.row.version,
            conflict,
            before: Some(loaded.json.clone()),
            after: None,
        }));
    };
    let seq = seqs.next(conn).await?;
    let w = WriteAt {
        seq,
        at,
        hlc: &op.hlc,
    };
    let stamp_json = serde_json::to_string(&FieldStamp {
        version: loaded.row.version + 1,
        hlc: op.hlc.clone(),
    })
    .map_err(|e| AppError::Internal(e.to_string()))?;
    if *deleted != loaded.row.deleted {
        let table = if op.model == PRODUCTO {
            Tombstoned::Products
        } else {
            Tombstoned::Customers
        };
        model::set_deleted(conn, table, op.entity_id, *deleted, &stamp_json, w).await?;
    }
    if !fields.is_empty() && !*deleted {
        let mut merged = loaded.row.fields.clone();
        merged.extend(fields.clone());
        if let Err(refusal) =
            write_fields(conn, &op.model, op.entity_id, fields, &merged, w).await?
        {
            return Ok(Err(refusal));
        }
    }
    let after = load(conn, &op.model, op.entity_id).await?;
    Ok(Ok(Applied {
        version: after.as_ref().map_or(loaded.row.version, |a| a.row.version),
        conflict,
        before: Some(loaded.json),
        after: after.map(|a| if a.row.deleted { Value::Null } else { a.json }),
    }))
}

/// Inserts the record; an id that exists already is refused by the insert itself (inside the
/// op's savepoint), which saves a lookup per create. The audit's "after" is built from the
/// validated values instead of read back.
async fn create(
    conn: &mut AnyConnection,
    op: &OpBody,
    at: &str,
    seqs: &mut db::ChangeSeqs,
) -> Result<Result<Applied, Refusal>, AppError> {
    let seq = seqs.next(conn).await?;
    let w = WriteAt {
        seq,
        at,
        hlc: &op.hlc,
    };
    let inserted = match op.model.as_str() {
        PRODUCTO => {
            let valid = match valid_product(&op.fields, &[]) {
                Ok(v) => v,
                Err(r) => return Ok(Err(r)),
            };
            let after = Product {
                id: op.entity_id,
                sku: valid.sku.to_string(),
                codigo_barras: valid.barcode.to_string(),
                nombre: valid.name.clone(),
                marca: valid.brand.clone(),
                modelo: valid.model.clone(),
                color: valid.color.clone(),
                talla: valid.size.tenths() as f64 / 10.0,
                precio: valid.price.centavos(),
                imagen: valid.image.clone(),
                activo: valid.active,
                version: 1,
            };
            products::insert(conn, op.entity_id, &valid, w)
                .await
                .map(|()| to_json(&after))
        }
        _ => {
            let valid = match valid_customer(&op.fields, &[]) {
                Ok(v) => v,
                Err(r) => return Ok(Err(r)),
            };
            let after = Customer {
                id: op.entity_id,
                nombre: valid.name.clone(),
                telefono: valid.phone.as_ref().map(|p| p.as_str().to_owned()),
                email: valid.email.as_ref().map(|e| e.as_str().to_owned()),
                rfc: valid.rfc.as_ref().map(|r| r.as_str().to_owned()),
                puntos: 0,
                notas: valid.notes.clone(),
                version: 1,
            };
            customers::insert(conn, op.entity_id, &valid, 0, w)
                .await
                .map(|()| to_json(&after))
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
