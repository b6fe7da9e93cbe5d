//! Ops that never conflict: stock deltas (they commute) and sales (insert-only).

use pronto_shared::{
    api::{
        returns::ReturnInput,
        sales::{Sale, SaleInput, SaleKind},
        stock::StockMovementInput,
    },
    sync::OpBody,
    Action, Principal,
};
use serde::de::value::MapDeserializer;
use serde_json::{json, Value};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{entities::Applied, push::Refusal};
use crate::{
    db,
    model::{
        products,
        sales::{NewSale, SaleContext, SaleWriter},
        stock,
    },
    AppError,
};

/// The device a sale came through: its id and folio code, and the catalog position it had
/// surely pulled (its price floor, see `approval::lowest_known`).
pub struct DeviceRef {
    pub id: Uuid,
    pub code: String,
    pub price_floor: i64,
}

fn body_of<'a, T: serde::de::DeserializeOwned>(
    fields: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Result<T, Refusal> {
    // Read in place: copying a sale's fields into a JSON object first cost a deep copy of
    // every line per op.
    T::deserialize(MapDeserializer::<_, serde_json::Error>::new(fields))
        .map_err(|e| Refusal::invalid(format!("Datos no válidos: {e}")))
}

/// An op's fields, as `body_of` reads them.
fn fields_of(op: &OpBody) -> impl Iterator<Item = (&str, &Value)> {
    op.fields.iter().map(|(k, v)| (k.as_str(), v))
}

/// `inventario.Existencia` / `stock_delta`: fields `{producto_id, delta, motivo, nota?}`; the
/// store is the device's. A sale's own stock moves come with the sale, so `venta` is refused.
pub async fn stock_delta(
    conn: &mut AnyConnection,
    op: &OpBody,
    author: &Principal,
    author_id: Uuid,
    store_id: Uuid,
    at: &str,
    seqs: &mut db::ChangeSeqs,
) -> Result<Result<Applied, Refusal>, AppError> {
    if let Some(store) = op.fields.get("tienda_id") {
        if store != &json!(store_id) {
            return Ok(Err(Refusal::forbidden("El movimiento es de otra tienda.")));
        }
    }
    let input: StockMovementInput = match body_of(fields_of(op).filter(|(k, _)| *k != "tienda_id"))
    {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    if !author.can(Action::AdjustStock(store_id)) {
        return Ok(Err(Refusal::forbidden(
            "Solo el gerente mueve el inventario de su tienda.",
        )));
    }
    let (delta, note) = match input.validate() {
        Ok(v) => v,
        Err(errors) => return Ok(Err(Refusal::invalid(errors.to_string()))),
    };
    if products::get(conn, input.producto_id).await?.is_none() {
        return Ok(Err(Refusal::invalid("El producto no existe.")));
    }
    let seq = seqs.next(conn).await?;
    let movement = stock::Movement {
        // One op, one movement: the op's id names it (and ties the movement to its op).
        id: op.op_id,
        store_id,
        product_id: input.producto_id,
        delta: delta.get(),
        reason: input.motivo,
        note: &note,
        sale_id: None,
        user_id: author_id,
    };
    let quantity = stock::apply(conn, &movement, seq, at).await?;
    Ok(Ok(Applied {
        version: quantity,
        conflict: None,
        before: None,
        after: Some(
            json!({"producto_id": input.producto_id, "delta": delta.get(), "cantidad": quantity, "negativo": quantity < 0}),
        ),
    }))
}

/// `ventas.Venta` / `sale`: fields are a [`SaleInput`] whose id is the op's entity; folio
/// `STORE-DEVICE-N`.
#[allow(clippy::too_many_arguments)] // the op, who, where, on which device, when
pub async fn sale(
    conn: &mut AnyConnection,
    op: &OpBody,
    author: &Principal,
    author_id: Uuid,
    store_id: Uuid,
    device: DeviceRef,
    at: &str,
    day: &str,
    writer: &mut SaleWriter,
    seqs: &mut db::ChangeSeqs,
) -> Result<Result<Applied, Refusal>, AppError> {
    if !author.can(Action::CreateSale(store_id)) {
        return Ok(Err(Refusal::forbidden("No puedes vender en esta tienda.")));
    }
    let id = json!(op.entity_id);
    let missing_id = (!op.fields.contains_key("id")).then_some(("id", &id));
    let input: SaleInput = match body_of(fields_of(op).chain(missing_id)) {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    if input.id != op.entity_id {
        return Ok(Err(Refusal::invalid(
            "El id de la venta no coincide con el de la operación.",
        )));
    }
    let valid = match input.validate() {
        Ok(v) => v,
        Err(errors) => return Ok(Err(Refusal::invalid(errors.to_string()))),
    };
    let payments: Vec<_> = input.pagos.iter().map(|p| (p.metodo, p.monto)).collect();
    let ctx = SaleContext {
        store_id,
        cashier_id: author_id,
        device: Some((device.id, device.code)),
        price_floor: Some(device.price_floor),
    };
    let new = NewSale {
        id: input.id,
        number: Some(op.seq),
        ctx: &ctx,
        sale: &valid,
        payments: &payments,
        customer_id: input.cliente_id,
        now: at,
        day,
        kind: SaleKind::Venta,
        original: None,
        reason: "",
        approval: input.autorizacion.as_ref(),
    };
    recorded(writer.add(conn, seqs, new).await)
}

/// The op's outcome from what the sale writer said.
fn recorded(outcome: Result<(Sale, bool), AppError>) -> Result<Result<Applied, Refusal>, AppError> {
    match outcome {
        Ok((sale, _)) => Ok(Ok(Applied {
            version: 1,
            conflict: None,
            before: None,
            after: serde_json::to_value(&sale).ok(),
        })),
        Err(AppError::Validation(errors)) => Ok(Err(Refusal::invalid(errors.to_string()))),
        Err(AppError::Conflict(message)) => Ok(Err(Refusal {
            status: 409,
            code: "duplicate",
            reason: message,
        })),
        Err(other) => Err(other),
    }
}

/// `ventas.Venta` / `return`: a return or void of a sale of the device's store (fields:
/// `api::returns::ReturnInput`). Pairs come back into stock; the refund is computed here by
/// the shared rule, so the amount the device showed is the amount stored.
#[allow(clippy::too_many_arguments)]
pub async fn sale_return(
    conn: &mut AnyConnection,
    op: &OpBody,
    author: &Principal,
    store_id: Uuid,
    device: DeviceRef,
    (at, day): (&str, &str),
    writer: &mut SaleWriter,
    seqs: &mut db::ChangeSeqs,
) -> Result<Result<Applied, Refusal>, AppError> {
    if !author.can(Action::CreateSale(store_id)) {
        return Ok(Err(Refusal::forbidden(
            "No puedes hacer devoluciones en esta tienda.",
        )));
    }
    let input: ReturnInput = match body_of(fields_of(op)) {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    if input.id != op.entity_id {
        return Ok(Err(Refusal::invalid(
            "El id de la devolución no coincide con el de la operación.",
        )));
    }
    let ctx = SaleContext {
        store_id,
        cashier_id: op.author_id,
        device: Some((device.id, device.code)),
        price_floor: Some(device.price_floor),
    };
    let (valid, sale) = match writer.check_return(conn, &input, &ctx).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(first)) => return recorded(Ok((first, false))),
        Err(err) => return recorded(Err(err)),
    };
    let (as_sale, payments) = valid.as_sale(input.reembolso);
    let new = NewSale {
        id: input.id,
        number: Some(op.seq),
        ctx: &ctx,
        sale: &as_sale,
        payments: &payments,
        customer_id: sale.cliente_id,
        now: at,
        day,
        kind: valid.kind,
        original: Some(sale.id),
        reason: &valid.reason,
        approval: None,
    };
    recorded(writer.add(conn, seqs, new).await)
}
