//! Finding the sale a return is of: in the device's cache by folio, else among the sales
//! still in the outbox (their folio is known: the op's seq), with the returns of it already
//! made, stored or still queued.

use std::collections::{BTreeMap, HashMap};

use pronto_shared::{
    api::{
        returns::{returnable, ReturnInput},
        sales::{folio, Sale, SaleInput, SaleKind},
    },
    domain::ShoeSize,
    sync::{config, Op, OpKind},
};
use uuid::Uuid;

use crate::local_store::LocalStore;

/// The sale found, with what of it can still come back.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    pub(super) sale: Sale,
    /// Returns and voids of it already made (stored, or still in the outbox).
    pub(super) earlier: Vec<Sale>,
    /// Each product's colour and size, as the cashier tells pairs apart (`Negro · talla 26`).
    pub(super) labels: HashMap<Uuid, String>,
}

impl Found {
    /// How a line names its pair: the model, then colour and size when the catalog has them.
    pub(super) fn describe(&self, product: Uuid, name: &str) -> String {
        match self.labels.get(&product) {
            Some(label) => format!("{name} · {label}"),
            None => name.to_owned(),
        }
    }
}

impl Found {
    pub(super) fn left(&self) -> BTreeMap<Uuid, i64> {
        returnable(&self.sale, &self.earlier)
    }
}

/// A sale still in the outbox, as the server will store it (its folio is known: the op's seq).
fn pending_sale(
    op: &Op,
    folio: String,
    store: Uuid,
    names: &HashMap<Uuid, (String, String)>,
) -> Option<Sale> {
    let map: serde_json::Map<String, serde_json::Value> =
        op.body.fields.clone().into_iter().collect();
    let input: SaleInput = serde_json::from_value(map.into()).ok()?;
    let valid = input.validate().ok()?;
    Some(Sale {
        id: input.id,
        folio,
        tienda_id: store,
        dispositivo_id: Some(op.body.device_id),
        cajero_id: op.body.author_id,
        cliente_id: input.cliente_id,
        lineas: valid
            .lines
            .iter()
            .map(|l| {
                let (sku, nombre) = names.get(&l.product_id).cloned().unwrap_or_default();
                l.line(sku, nombre)
            })
            .collect(),
        pagos: Vec::new(),
        forma_pago: valid.kind,
        subtotal: valid.subtotal.centavos(),
        descuento: valid.discount.centavos(),
        total: valid.total.centavos(),
        cambio: valid.change.centavos(),
        creada: String::new(),
        tipo: SaleKind::Venta,
        venta_original_id: None,
        motivo: String::new(),
        autorizacion: Default::default(),
        autorizo_id: None,
    })
}

fn parse<T: serde::de::DeserializeOwned>(op: &Op) -> Option<T> {
    let map: serde_json::Map<String, serde_json::Value> =
        op.body.fields.clone().into_iter().collect();
    serde_json::from_value(map.into()).ok()
}

/// Looks the folio up in the cache, then in the outbox; `Ok(None)` when it is nowhere.
pub(super) async fn find(
    store: &LocalStore,
    wanted: &str,
    (store_id, store_code, device_code): (Uuid, &str, &str),
) -> Result<Option<Found>, String> {
    let cached = store
        .sales_by("folio", wanted)
        .await
        .map_err(|e| e.to_string())?;
    let outbox = store.outbox().await.map_err(|e| e.to_string())?;
    let mut sale: Option<Sale> = cached
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .next();
    if sale.is_none() {
        for op in outbox.iter().filter(|op| op.body.kind == OpKind::Sale) {
            if folio(store_code, device_code, op.body.seq) != wanted {
                continue;
            }
            let input: Option<SaleInput> = parse(op);
            let ids: Vec<Uuid> = input
                .iter()
                .flat_map(|i| i.lineas.iter().map(|l| l.producto_id))
                .collect();
            let products = store
                .cached_many(config::PRODUCTO, &ids)
                .await
                .map_err(|e| e.to_string())?;
            let names: HashMap<Uuid, (String, String)> = ids
                .iter()
                .zip(products)
                .filter_map(|(id, p)| {
                    let p = p?;
                    let text = |k: &str| {
                        p.get(k)
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Some((*id, (text("sku"), text("nombre"))))
                })
                .collect();
            sale = pending_sale(op, wanted.to_owned(), store_id, &names);
        }
    }
    let Some(sale) = sale else {
        return Ok(None);
    };
    let mut earlier: Vec<Sale> = store
        .sales_by("original", &sale.id.to_string())
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    for op in outbox.iter().filter(|op| op.body.kind == OpKind::Return) {
        let Some(input) = parse::<ReturnInput>(op) else {
            continue;
        };
        if input.venta_id != sale.id || earlier.iter().any(|e| e.id == input.id) {
            continue;
        }
        if let Ok(valid) = input.validate(&sale, &earlier) {
            let record = valid.record(
                &sale,
                input.id,
                folio(store_code, device_code, op.body.seq),
                input.reembolso,
            );
            earlier.push(record);
        }
    }
    let labels = labels(store, &sale).await;
    Ok(Some(Found {
        sale,
        earlier,
        labels,
    }))
}

/// Colour and size of the sale's products, from the device's catalog.
async fn labels(store: &LocalStore, sale: &Sale) -> HashMap<Uuid, String> {
    let ids: Vec<Uuid> = sale.lineas.iter().map(|l| l.producto_id).collect();
    let products = store
        .cached_many(config::PRODUCTO, &ids)
        .await
        .unwrap_or_default();
    ids.iter()
        .zip(products)
        .filter_map(|(id, p)| {
            let p = p?;
            let color = p.get("color")?.as_str()?.to_owned();
            let size = ShoeSize::label_of(p.get("talla")?.as_f64()?);
            Some((*id, format!("{color} · talla {size}")))
        })
        .collect()
}
