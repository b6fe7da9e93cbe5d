//! Returns and voids at the till: find the sale by the folio on its receipt (or just its
//! number, for a sale of this device), choose what comes back, say why, and hand back the
//! amount the shared refund rule gives. Offline too: a sale still in the outbox is found there,
//! and returns still in the outbox count against what is left of their sale.

use std::collections::{BTreeMap, HashMap};

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        returns::{returnable, ReturnInput, ReturnLineInput},
        sales::{folio, PaymentMethod, Sale, SaleInput, SaleKind, SaleLine},
    },
    domain::FieldErrors,
    sync::{config, engine::LocalChange, Op, OpKind},
};
use uuid::Uuid;

use crate::{device::ThisDevice, local_store::LocalStore, session::Session, sync_service::Sync};

use pronto_shared::domain::money::mxn as money;

/// The sale found, with what of it can still come back.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    sale: Sale,
    /// Returns and voids of it already made (stored, or still in the outbox).
    earlier: Vec<Sale>,
}

impl Found {
    fn left(&self) -> BTreeMap<Uuid, i64> {
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
async fn find(
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
    Ok(Some(Found { sale, earlier }))
}

/// What the cashier is told after saving.
#[derive(Debug, Clone, PartialEq)]
struct Done {
    folio: String,
    refund: i64,
    method: PaymentMethod,
    void: bool,
}

#[component]
pub fn Returns() -> impl IntoView {
    let sync = expect_context::<Sync>();
    let device = expect_context::<ThisDevice>();
    let session = expect_context::<Session>();
    let folio_text = RwSignal::new(String::new());
    let found: RwSignal<Option<Found>> = RwSignal::new(None);
    let problem: RwSignal<Option<String>> = RwSignal::new(None);
    let quantities: RwSignal<BTreeMap<Uuid, i64>> = RwSignal::new(BTreeMap::new());
    let reason = RwSignal::new(String::new());
    let method = RwSignal::new(PaymentMethod::Efectivo);
    let errors: RwSignal<FieldErrors> = RwSignal::new(FieldErrors::new());
    let done: RwSignal<Option<Done>> = RwSignal::new(None);
    let saving = RwSignal::new(false);

    let sync_find = sync.clone();
    let search = move || {
        let (Some(this), Some(profile), Some(store)) = (
            device.device.get_untracked(),
            session.profile_untracked(),
            sync_find.store(),
        ) else {
            problem.set(Some(
                "Registra este dispositivo en su tienda primero.".into(),
            ));
            return;
        };
        let typed = folio_text.get_untracked().trim().to_uppercase();
        // Just the number: a sale of this till.
        let wanted = match typed.parse::<u64>() {
            Ok(n) => folio(&profile.tienda.codigo, &this.codigo, n),
            Err(_) => typed,
        };
        problem.set(None);
        done.set(None);
        errors.set(FieldErrors::new());
        spawn_local(async move {
            let codes = (
                profile.tienda.id,
                profile.tienda.codigo.as_str(),
                this.codigo.as_str(),
            );
            match find(&store, &wanted, codes).await {
                Ok(Some(f)) if f.sale.tipo != SaleKind::Venta => {
                    found.set(None);
                    problem.set(Some(format!("{wanted} es una devolución, no una venta.")));
                }
                Ok(Some(f)) => {
                    quantities.set(BTreeMap::new());
                    method.set(match f.sale.forma_pago {
                        pronto_shared::api::sales::PaymentKind::Tarjeta => PaymentMethod::Tarjeta,
                        _ => PaymentMethod::Efectivo,
                    });
                    found.set(Some(f));
                }
                Ok(None) => {
                    found.set(None);
                    problem.set(Some(format!(
                        "No se encontró la venta {wanted} en este dispositivo."
                    )));
                }
                Err(e) => problem.set(Some(format!("No se pudo leer el dispositivo: {e}"))),
            }
        });
    };
    let search_click = search.clone();

    let refund_preview = move || {
        let f = found.get()?;
        let input = ReturnInput {
            id: Uuid::nil(),
            venta_id: f.sale.id,
            lineas: quantities
                .get()
                .into_iter()
                .filter(|(_, q)| *q > 0)
                .map(|(producto_id, cantidad)| ReturnLineInput {
                    producto_id,
                    cantidad,
                })
                .collect(),
            reembolso: method.get(),
            motivo: "x".into(),
            cancelacion: false,
        };
        input
            .validate(&f.sale, &f.earlier)
            .ok()
            .map(|v| v.refund.centavos())
    };

    let save = move |void: bool| {
        if saving.get_untracked() {
            return;
        }
        let (Some(this), Some(profile), Some(f)) = (
            device.device.get_untracked(),
            session.profile_untracked(),
            found.get_untracked(),
        ) else {
            return;
        };
        let input = ReturnInput {
            id: Uuid::now_v7(),
            venta_id: f.sale.id,
            lineas: if void {
                Vec::new()
            } else {
                quantities
                    .get_untracked()
                    .into_iter()
                    .filter(|(_, q)| *q > 0)
                    .map(|(producto_id, cantidad)| ReturnLineInput {
                        producto_id,
                        cantidad,
                    })
                    .collect()
            },
            reembolso: method.get_untracked(),
            motivo: reason.get_untracked(),
            cancelacion: void,
        };
        let valid = match input.validate(&f.sale, &f.earlier) {
            Ok(v) => v,
            Err(e) => {
                errors.set(e);
                return;
            }
        };
        errors.set(FieldErrors::new());
        let Some(change) = LocalChange::of(config::VENTA, input.id, OpKind::Return, None, &input)
        else {
            return;
        };
        saving.set(true);
        let sync = sync.clone();
        spawn_local(async move {
            match sync.record(change, &this, &profile).await {
                Ok(op) => {
                    done.set(Some(Done {
                        folio: folio(&profile.tienda.codigo, &this.codigo, op.body.seq),
                        refund: valid.refund.centavos(),
                        method: input.reembolso,
                        void,
                    }));
                    found.set(None);
                    folio_text.set(String::new());
                    reason.set(String::new());
                    quantities.set(BTreeMap::new());
                }
                Err(e) => problem.set(Some(format!("No se pudo guardar en el dispositivo: {e}"))),
            }
            saving.set(false);
        });
    };
    let save_void = save.clone();

    view! {
        <div class="returns">
            <section class="card">
                <h1>"Devolución o cancelación"</h1>
                <form class="returns__find" on:submit=move |ev| { ev.prevent_default(); search(); }>
                    <label class="field">
                        <span class="field__label">"Folio del ticket"</span>
                        <input class="field__input field__input--big" autocomplete="off" autofocus
                            placeholder="T01-C01-000123 o solo 123" data-testid="return-folio"
                            prop:value=move || folio_text.get()
                            on:input=move |ev| folio_text.set(event_target_value(&ev)) />
                    </label>
                    <button class="button button--primary" type="submit" data-testid="find-sale"
                        on:click=move |ev| { ev.prevent_default(); search_click(); }>"Buscar"</button>
                </form>
                {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert" data-testid="return-problem">{p}</p> })}
                {move || done.get().map(|d| view! {
                    <p class="notice notice--ok" role="status" data-testid="return-saved">
                        {format!(
                            "{} guardada · folio {} · devolver {} en {}",
                            if d.void { "Cancelación" } else { "Devolución" },
                            d.folio,
                            money(d.refund),
                            if d.method == PaymentMethod::Tarjeta { "tarjeta" } else { "efectivo" },
                        )}
                    </p>
                })}
            </section>
            {move || found.get().map(|f| {
                let left = f.left();
                let save = save.clone();
                let save_void = save_void.clone();
                view! {
                    <section class="card returns__sale" data-testid="return-sale">
                        <h2>{format!("Venta {} · {}", f.sale.folio, money(f.sale.total))}</h2>
                        <ul class="cart">
                            {f.sale.lineas.iter().map(|line: &SaleLine| {
                                let product = line.producto_id;
                                let max = left.get(&product).copied().unwrap_or(0).max(0);
                                let bump = move |delta: i64| quantities.update(|q| {
                                    let n = q.entry(product).or_default();
                                    *n = (*n + delta).clamp(0, max);
                                });
                                view! {
                                    <li class="cart__line" data-testid="return-line">
                                        <span class="cart__name">
                                            {line.nombre.clone()}
                                            <span class="muted">{format!(" · {} · vendidos {} · quedan {}", line.sku, line.cantidad, max)}</span>
                                        </span>
                                        <span class="cart__qty">
                                            <button class="button button--round" type="button" aria-label="Uno menos" on:click=move |_| bump(-1)>"−"</button>
                                            <span data-testid="return-qty">{move || quantities.with(|q| q.get(&product).copied().unwrap_or(0))}</span>
                                            <button class="button button--round" type="button" aria-label="Uno más" data-testid="return-more" on:click=move |_| bump(1)>"+"</button>
                                        </span>
                                        <span class="cart__amount">{money(line.precio_unitario)}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {move || errors.with(|e| e.get("lineas").or_else(|| e.get("lineas[0].cantidad")).map(str::to_owned)).map(|m| view! {
                            <p class="field__error" role="alert">{m}</p>
                        })}
                        <label class="field">
                            <span class="field__label">"Motivo"</span>
                            <input class="field__input" autocomplete="off" data-testid="return-reason"
                                placeholder="Talla equivocada, defecto…"
                                aria-invalid=move || errors.with(|e| e.get("motivo").is_some()).to_string()
                                prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev)) />
                            {move || errors.with(|e| e.get("motivo").map(str::to_owned)).map(|m| view! {
                                <span class="field__error" role="alert" data-testid="return-reason-error">{m}</span>
                            })}
                        </label>
                        <div class="pay" role="radiogroup" aria-label="Reembolso">
                            <button type="button" class="pay__option" aria-pressed=move || (method.get() == PaymentMethod::Efectivo).to_string()
                                on:click=move |_| method.set(PaymentMethod::Efectivo)>"Efectivo"</button>
                            <button type="button" class="pay__option" aria-pressed=move || (method.get() == PaymentMethod::Tarjeta).to_string()
                                on:click=move |_| method.set(PaymentMethod::Tarjeta)>"Tarjeta"</button>
                        </div>
                        <p class="sale__total">
                            <span>"A devolver"</span>
                            <strong data-testid="refund">{move || refund_preview().map(money).unwrap_or_else(|| "—".into())}</strong>
                        </p>
                        {move || errors.with(|e| e.get("cancelacion").map(str::to_owned)).map(|m| view! {
                            <p class="field__error" role="alert">{m}</p>
                        })}
                        <div class="returns__actions">
                            <button class="button button--primary" type="button" data-testid="save-return"
                                disabled=move || saving.get() on:click=move |_| save(false)>"Registrar devolución"</button>
                            <button class="button" type="button" data-testid="void-sale"
                                disabled=move || saving.get() || !f.earlier.is_empty()
                                on:click=move |_| save_void(true)>"Cancelar la venta completa"</button>
                        </div>
                    </section>
                }
            })}
        </div>
    }
}
