//! What a screen shows of a record: the server's copy from the cache, with this device's
//! creates and edits still in the outbox laid over it — a cashier who just saved a customer
//! offline sees her as saved, marked as not sent yet.

use std::collections::HashMap;

use pronto_shared::sync::{Op, OpKind};
use serde_json::Value;
use uuid::Uuid;

/// A record as this device will see it once its pending ops apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub data: Value,
    /// The server's version the cache holds (0 for a record only created here).
    pub version: i64,
    /// Whether ops of this record are still waiting to be sent.
    pub pending: bool,
}

/// The pending ops of one model, by record: what a list screen lays over its cached rows.
/// Built once per search from the outbox's index of that kind, so showing a page of records
/// costs one lookup per record, not a pass over the outbox.
#[derive(Debug, Default)]
pub struct PendingOps {
    by_record: HashMap<Uuid, Vec<Op>>,
    /// Records created here and not sent, in the order they were created.
    created: Vec<Uuid>,
}

impl PendingOps {
    /// `ops` (in seq order) of `model`; ops of other models are left out.
    pub fn of(model: &str, ops: Vec<Op>) -> Self {
        let mut pending = Self::default();
        for op in ops.into_iter().filter(|op| op.body.model == model) {
            if op.body.kind == OpKind::Create {
                pending.created.push(op.body.entity_id);
            }
            pending
                .by_record
                .entry(op.body.entity_id)
                .or_default()
                .push(op);
        }
        pending
    }

    /// `cached` (data and version) with the pending ops of record `id` applied in seq order;
    /// `None` when it does not exist, or a pending delete removes it.
    pub fn overlaid(&self, id: Uuid, cached: Option<(Value, i64)>) -> Option<Shown> {
        let mut shown = cached.map(|(data, version)| Shown {
            data,
            version,
            pending: false,
        });
        for op in self.by_record.get(&id).map_or(&[][..], Vec::as_slice) {
            match op.body.kind {
                OpKind::Delete => shown = None,
                OpKind::Create | OpKind::Update => {
                    let entry = shown.get_or_insert_with(|| Shown {
                        data: serde_json::json!({ "id": id }),
                        version: 0,
                        pending: true,
                    });
                    entry.pending = true;
                    if let Value::Object(map) = &mut entry.data {
                        for (field, value) in &op.body.fields {
                            map.insert(field.clone(), value.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        shown
    }

    /// Ids of the records created on this device and not sent yet.
    pub fn created_here(&self) -> &[Uuid] {
        &self.created
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_shared::sync::{Hlc, OpBody};
    use serde_json::json;

    fn op(seq: u64, id: Uuid, kind: OpKind, fields: Value) -> Op {
        Op::seal(OpBody {
            op_id: Uuid::from_u128(u128::from(seq)),
            device_id: Uuid::from_u128(1),
            author_id: Uuid::from_u128(2),
            seq,
            model: "clientes.Cliente".into(),
            entity_id: id,
            kind,
            base_version: None,
            fields: serde_json::from_value(fields).unwrap_or_default(),
            hlc: Hlc::zero("d"),
            priority: 50,
            v: 2,
            key_id: None,
        })
    }

    #[test]
    fn pending_edits_lay_over_the_cached_copy_in_order() {
        let id = Uuid::from_u128(9);
        let outbox = [
            op(1, id, OpKind::Update, json!({"telefono": "1"})),
            op(
                2,
                Uuid::from_u128(8),
                OpKind::Update,
                json!({"telefono": "x"}),
            ),
            op(
                3,
                id,
                OpKind::Update,
                json!({"telefono": "2", "notas": "vip"}),
            ),
        ];
        let shown = PendingOps::of("clientes.Cliente", outbox.to_vec())
            .overlaid(
                id,
                Some((json!({"id": id, "nombre": "Ana", "telefono": "0"}), 4)),
            )
            .unwrap();
        assert_eq!(shown.data["telefono"], "2");
        assert_eq!(shown.data["nombre"], "Ana");
        assert_eq!(shown.data["notas"], "vip");
        assert_eq!(shown.version, 4);
        assert!(shown.pending);
    }

    #[test]
    fn a_record_created_here_shows_before_the_server_has_it_and_a_delete_hides_it() {
        let id = Uuid::from_u128(7);
        let created = [op(1, id, OpKind::Create, json!({"nombre": "Rosa"}))];
        let pending = PendingOps::of("clientes.Cliente", created.to_vec());
        let shown = pending.overlaid(id, None).unwrap();
        assert_eq!(shown.data["nombre"], "Rosa");
        assert_eq!(pending.created_here(), [id]);
        let deleted = PendingOps::of(
            "clientes.Cliente",
            vec![op(1, id, OpKind::Delete, json!({}))],
        );
        assert!(deleted.overlaid(id, Some((json!({}), 1))).is_none());
    }
}
