//! The order a pushed batch is applied in: higher-priority models first (sales and stock before
//! catalog and customer edits, DESIGN §4), but an op never goes ahead of an earlier op it
//! depends on — one on the same entity, or one that creates or edits an entity it names. The
//! cashier who creates a customer and sells to her in the same minute sends a `clientes.Cliente`
//! create (priority 50) followed by a sale naming it (priority 100); sorted by priority alone the
//! sale would reach a server that does not know the customer yet and be refused.

use std::collections::HashMap;

use uuid::Uuid;

use super::{
    config::{CLIENTE, EXISTENCIA, PRODUCTO, VENTA},
    OpBody, OpKind,
};

/// The entities `op` names besides its own: a sale its customer and the products of its lines,
/// a return its sale and products, a stock move its product.
pub fn references(op: &OpBody) -> Vec<(&'static str, Uuid)> {
    let uuid_at = |value: Option<&serde_json::Value>| {
        value
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let mut refs = Vec::new();
    match (op.model.as_str(), op.kind) {
        (VENTA, OpKind::Sale) => {
            if let Some(customer) = uuid_at(op.fields.get("cliente_id")) {
                refs.push((CLIENTE, customer));
            }
            let lines = op.fields.get("lineas").and_then(|l| l.as_array());
            for line in lines.into_iter().flatten() {
                if let Some(product) = uuid_at(line.get("producto_id")) {
                    refs.push((PRODUCTO, product));
                }
            }
        }
        (VENTA, OpKind::Return) => {
            if let Some(sale) = uuid_at(op.fields.get("venta_id")) {
                refs.push((VENTA, sale));
            }
            let lines = op.fields.get("lineas").and_then(|l| l.as_array());
            for line in lines.into_iter().flatten() {
                if let Some(product) = uuid_at(line.get("producto_id")) {
                    refs.push((PRODUCTO, product));
                }
            }
        }
        (EXISTENCIA, _) => {
            if let Some(product) = uuid_at(op.fields.get("producto_id")) {
                refs.push((PRODUCTO, product));
            }
        }
        _ => {}
    }
    refs
}

/// Indices of `ops` (given in seq order, each with its model's priority) in the order to apply
/// them. An op's effective priority is raised to that of any later op on the same entity or
/// naming its entity, transitively; a stable sort by effective priority then keeps every
/// dependency ahead of what depends on it, and seq order among equals.
pub fn apply_order(ops: &[(&OpBody, i32)]) -> Vec<usize> {
    let mut demanded: HashMap<(&str, Uuid), i32> = HashMap::new();
    let mut effective = vec![0; ops.len()];
    for (i, (op, priority)) in ops.iter().enumerate().rev() {
        let own = (op.model.as_str(), op.entity_id);
        let e = demanded
            .get(&own)
            .map_or(*priority, |d| (*d).max(*priority));
        effective[i] = e;
        demanded.insert(own, e);
        for named in references(op) {
            let slot = demanded.entry(named).or_insert(e);
            *slot = (*slot).max(e);
        }
    }
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(effective[i]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Hlc;
    use proptest::prelude::*;
    use serde_json::json;

    fn op(seq: u64, model: &str, entity: u128, kind: OpKind, fields: serde_json::Value) -> OpBody {
        OpBody {
            op_id: Uuid::from_u128(1000 + u128::from(seq)),
            device_id: Uuid::from_u128(1),
            author_id: Uuid::from_u128(2),
            seq,
            model: model.into(),
            entity_id: Uuid::from_u128(entity),
            kind,
            base_version: None,
            fields: serde_json::from_value(fields).unwrap_or_default(),
            hlc: Hlc::zero("d"),
            priority: 0,
            v: 2,
            key_id: None,
        }
    }

    fn priority(model: &str) -> i32 {
        crate::sync::config::defaults()
            .into_iter()
            .find(|c| c.model == model)
            .map_or(0, |c| c.prioridad)
    }

    fn order(ops: &[OpBody]) -> Vec<u64> {
        let with: Vec<_> = ops.iter().map(|o| (o, priority(&o.model))).collect();
        apply_order(&with).into_iter().map(|i| ops[i].seq).collect()
    }

    #[test]
    fn a_customer_created_before_a_sale_naming_her_is_applied_first() {
        let customer = Uuid::from_u128(50);
        let ops = [
            op(1, PRODUCTO, 70, OpKind::Update, json!({"precio": 1})),
            op(2, CLIENTE, 50, OpKind::Create, json!({"nombre": "Ana"})),
            op(
                3,
                VENTA,
                60,
                OpKind::Sale,
                json!({"cliente_id": customer, "lineas": [{"producto_id": Uuid::from_u128(80)}]}),
            ),
            op(4, CLIENTE, 51, OpKind::Update, json!({"telefono": "1"})),
        ];
        // The unrelated customer edit and product edit keep their lower priority.
        assert_eq!(order(&ops), vec![2, 3, 4, 1]);
    }

    #[test]
    fn a_product_created_and_received_before_its_first_sale_goes_first_with_its_edits() {
        let product = Uuid::from_u128(70);
        let ops = [
            op(1, PRODUCTO, 70, OpKind::Create, json!({"sku": "A"})),
            op(2, PRODUCTO, 70, OpKind::Update, json!({"precio": 2})),
            op(
                3,
                EXISTENCIA,
                90,
                OpKind::StockDelta,
                json!({"producto_id": product, "delta": 5}),
            ),
            op(
                4,
                VENTA,
                60,
                OpKind::Sale,
                json!({"lineas": [{"producto_id": product}]}),
            ),
        ];
        assert_eq!(order(&ops), vec![1, 2, 4, 3]);
    }

    fn arb_op() -> impl Strategy<Value = (u8, u128, Option<u128>)> {
        // (model, entity, named customer or product)
        (0_u8..4, 0_u128..6, proptest::option::of(0_u128..6))
    }

    proptest! {
        #[test]
        fn dependencies_and_per_entity_order_always_hold(spec in proptest::collection::vec(arb_op(), 0..40)) {
            let ops: Vec<OpBody> = spec
                .iter()
                .enumerate()
                .map(|(i, (m, entity, named))| {
                    let seq = i as u64 + 1;
                    let named = named.map(Uuid::from_u128);
                    match m {
                        0 => op(seq, VENTA, 100 + *entity, OpKind::Sale,
                            json!({"cliente_id": named, "lineas": [{"producto_id": named}]})),
                        1 => op(seq, EXISTENCIA, 200 + *entity, OpKind::StockDelta,
                            json!({"producto_id": named})),
                        2 => op(seq, CLIENTE, *entity, OpKind::Update, json!({})),
                        _ => op(seq, PRODUCTO, *entity, OpKind::Update, json!({})),
                    }
                })
                .collect();
            let applied = order(&ops);
            let mut sorted = applied.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (1..=ops.len() as u64).collect::<Vec<_>>());
            let position = |seq: u64| applied.iter().position(|s| *s == seq);
            for later in &ops {
                for earlier in ops.iter().filter(|o| o.seq < later.seq) {
                    let same = earlier.model == later.model && earlier.entity_id == later.entity_id;
                    let named = references(later)
                        .iter()
                        .any(|(m, id)| *m == earlier.model && *id == earlier.entity_id);
                    if same || named {
                        prop_assert!(position(earlier.seq) < position(later.seq));
                    }
                }
            }
        }
    }
}
