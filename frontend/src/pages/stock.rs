//! The manager's stock screen (`/inventario`): this store's stock from the device's cache —
//! negative rows first, the ones to check — found by name, SKU or barcode; receiving shoes and
//! adjusting with a reason become stock-delta ops, the same online and offline. The quantity
//! shown is the server's; what this device has not sent yet is shown beside it.

use leptos::{ev, prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        products::Product,
        stock::{StockMovementInput, StockReason},
    },
    domain::FieldErrors,
    sync::{config, engine::LocalChange, OpKind},
    Action,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{device::ThisDevice, local_store::LocalStore, session::Session, sync_service::Sync};

/// At or below this many pairs a row is flagged as low.
const LOW_STOCK: i64 = 2;

#[derive(Debug, Clone, PartialEq)]
struct Row {
    product: Product,
    quantity: i64,
}

fn quantity_of(stock: Option<&Value>) -> i64 {
    stock
        .and_then(|s| s.get("cantidad"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The products of `ids` with their stock, from the cache.
async fn rows_for(store: &LocalStore, products: Vec<Product>) -> Vec<Row> {
    let ids: Vec<Uuid> = products.iter().map(|p| p.id).collect();
    let stock = store
        .cached_many(config::EXISTENCIA, &ids)
        .await
        .unwrap_or_default();
    products
        .into_iter()
        .enumerate()
        .map(|(i, product)| Row {
            product,
            quantity: quantity_of(stock.get(i).and_then(Option::as_ref)),
        })
        .collect()
}

/// The rows below zero, from every cached stock record of the store.
async fn negative_rows(store: &LocalStore) -> Vec<Row> {
    let stock = store
        .all_cached(config::EXISTENCIA)
        .await
        .unwrap_or_default();
    let negative: Vec<(Uuid, i64)> = stock
        .iter()
        .filter_map(|s| {
            let id = s.get("producto_id")?.as_str()?.parse().ok()?;
            let quantity = quantity_of(Some(s));
            (quantity < 0).then_some((id, quantity))
        })
        .collect();
    let ids: Vec<Uuid> = negative.iter().map(|(id, _)| *id).collect();
    let products = store
        .cached_many(config::PRODUCTO, &ids)
        .await
        .unwrap_or_default();
    negative
        .into_iter()
        .zip(products)
        .filter_map(|((_, quantity), product)| {
            let product = serde_json::from_value(product?).ok()?;
            Some(Row { product, quantity })
        })
        .collect()
}

#[component]
pub fn Stock() -> impl IntoView {
    let sync = expect_context::<Sync>();
    let device = expect_context::<ThisDevice>();
    let session = expect_context::<Session>();
    let query = RwSignal::new(String::new());
    let rows: RwSignal<Vec<Row>> = RwSignal::new(Vec::new());
    let showing_negatives = RwSignal::new(true);
    // Moves recorded on this device and not yet reflected in the cache, per product.
    let sent: RwSignal<Vec<(Uuid, i64)>> = RwSignal::new(Vec::new());

    let may_adjust = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::AdjustStock(p.tienda.id)))
    };

    // One search, run when the text changes and again once the device's storage is open: text
    // typed while it was still opening (right after a reload) is searched then, not dropped.
    let show = move |store: LocalStore, text: String| {
        spawn_local(async move {
            if text.trim().is_empty() {
                showing_negatives.set(true);
                rows.set(negative_rows(&store).await);
                return;
            }
            let found: Vec<Product> = store
                .search_products(&text, 30)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect();
            let found = rows_for(&store, found).await;
            if query.get_untracked() == text {
                showing_negatives.set(false);
                rows.set(found);
            }
        });
    };

    let sync_load = sync.clone();
    Effect::new(move |_| {
        if !sync_load.status.ready.get() {
            return;
        }
        let Some(store) = sync_load.store() else {
            return;
        };
        show(store, query.get_untracked());
    });

    let sync_search = sync.clone();
    let on_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        if let Some(store) = sync_search.store() {
            show(store, text);
        }
    };

    view! {
        <section class="card stock">
            <h1>"Inventario de la tienda"</h1>
            {move || (!may_adjust()).then(|| view! {
                <p class="notice notice--bad" role="alert">"Solo el gerente mueve el inventario de su tienda."</p>
            })}
            <label class="field">
                <span class="field__label">"Buscar producto"</span>
                <input class="field__input field__input--big" type="search" autocomplete="off"
                    placeholder="Nombre, SKU o código de barras" data-testid="stock-search"
                    prop:value=move || query.get() on:input=on_input />
            </label>
            <p class="muted">
                {move || if showing_negatives.get() {
                    "Existencias negativas (para revisar). Busca un producto para recibir o ajustar."
                } else {
                    "Resultados de la búsqueda."
                }}
            </p>
            <ul class="stock__rows" data-testid="stock-rows">
                <For
                    each=move || rows.get()
                    key=|r| (r.product.id, r.quantity)
                    children=move |row: Row| {
                        let sync = sync.clone();
                        view! { <StockRow row=row sync=sync device=device session=session sent=sent may_adjust=Signal::derive(may_adjust) /> }
                    }
                />
            </ul>
        </section>
    }
}

#[component]
fn StockRow(
    row: Row,
    sync: Sync,
    device: ThisDevice,
    session: Session,
    sent: RwSignal<Vec<(Uuid, i64)>>,
    may_adjust: Signal<bool>,
) -> impl IntoView {
    let id = row.product.id;
    let open = RwSignal::new(false);
    let problem: RwSignal<Option<String>> = RwSignal::new(None);
    let pending = move || {
        sent.with(|s| {
            s.iter()
                .filter(|(p, _)| *p == id)
                .map(|(_, d)| d)
                .sum::<i64>()
        })
    };
    let flag = match row.quantity {
        q if q < 0 => Some(("stock__flag stock__flag--bad", "Negativo")),
        q if q <= LOW_STOCK => Some(("stock__flag stock__flag--low", "Bajo")),
        _ => None,
    };
    view! {
        <li class="stock__row" data-testid="stock-row" data-product=id.to_string() data-quantity=row.quantity.to_string()>
            <div class="stock__info">
                <strong>{row.product.nombre.clone()}</strong>
                <span class="muted">{format!("{} · {} · talla {}", row.product.sku, row.product.color, row.product.talla)}</span>
            </div>
            <div class="stock__qty">
                <strong>{row.quantity}</strong>
                {flag.map(|(class, label)| view! { <span class=class>{label}</span> })}
                {move || (pending() != 0).then(|| view! {
                    <span class="stock__pending" data-testid="stock-pending">{format!("{:+} por enviar", pending())}</span>
                })}
            </div>
            {move || (may_adjust.get() && !open.get()).then(|| view! {
                <button class="button result__grid" type="button" data-testid="stock-move" on:click=move |_| open.set(true)>"Mover"</button>
            })}
            {move || open.get().then(|| view! {
                <StockMove id=id till=(sync.clone(), device, session) sent=sent open=open problem=problem />
            })}
            {move || problem.get().map(|p| view! { <p class="field__error" role="alert">{p}</p> })}
        </li>
    }
}

/// A reception or an adjustment of one row, recorded as a stock-delta op.
#[component]
fn StockMove(
    id: Uuid,
    till: (Sync, ThisDevice, Session),
    sent: RwSignal<Vec<(Uuid, i64)>>,
    open: RwSignal<bool>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let (sync, device, session) = till;
    let delta_text = RwSignal::new(String::new());
    let reason = RwSignal::new(StockReason::Recepcion);
    let note = RwSignal::new(String::new());
    let errors: RwSignal<FieldErrors> = RwSignal::new(FieldErrors::new());
    let save = move |_| {
        let (Some(device), Some(profile)) =
            (device.device.get_untracked(), session.profile_untracked())
        else {
            problem.set(Some(
                "Registra este dispositivo en su tienda primero.".into(),
            ));
            return;
        };
        let delta = match delta_text.get_untracked().trim().parse::<i64>() {
            Ok(d) => d,
            Err(_) => {
                let mut e = FieldErrors::new();
                e.add(
                    "delta",
                    "Escribe cuántos pares: por ejemplo 6, o -2 para restar.",
                );
                errors.set(e);
                return;
            }
        };
        let input = StockMovementInput {
            producto_id: id,
            delta,
            motivo: reason.get_untracked(),
            nota: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
        };
        if let Err(e) = input.validate() {
            errors.set(e);
            return;
        }
        errors.set(FieldErrors::new());
        let Some(change) =
            LocalChange::of(config::EXISTENCIA, id, OpKind::StockDelta, None, &input)
        else {
            return;
        };
        let sync = sync.clone();
        spawn_local(async move {
            match sync.record(change, &device, &profile).await {
                Ok(_) => {
                    sent.update(|s| s.push((id, delta)));
                    open.set(false);
                    delta_text.set(String::new());
                    note.set(String::new());
                    problem.set(None);
                }
                Err(err) => problem.set(Some(format!("No se pudo guardar: {err}"))),
            }
        });
    };

    view! {
        <div class="stock__form">
            <div class="pay" role="radiogroup" aria-label="Motivo">
                <button type="button" class="pay__option" aria-pressed=move || (reason.get() == StockReason::Recepcion).to_string()
                    on:click=move |_| reason.set(StockReason::Recepcion)>"Recepción"</button>
                <button type="button" class="pay__option" data-testid="reason-adjust" aria-pressed=move || (reason.get() == StockReason::Ajuste).to_string()
                    on:click=move |_| reason.set(StockReason::Ajuste)>"Ajuste"</button>
            </div>
            <label class="field">
                <span class="field__label">"Pares (+ entran, − salen)"</span>
                <input class="field__input" inputmode="numeric" data-testid="stock-delta"
                    prop:value=move || delta_text.get() on:input=move |ev| delta_text.set(event_target_value(&ev)) />
                {move || errors.with(|e| e.get("delta").map(str::to_owned)).map(|m| view! {
                    <span class="field__error" role="alert" data-testid="delta-error">{m}</span>
                })}
            </label>
            <label class="field">
                <span class="field__label">"Nota (opcional)"</span>
                <input class="field__input" data-testid="stock-note"
                    prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev)) />
                {move || errors.with(|e| e.get("nota").or(e.get("motivo")).map(str::to_owned)).map(|m| view! {
                    <span class="field__error" role="alert">{m}</span>
                })}
            </label>
            <div class="receipt__actions">
                <button class="button button--primary" type="button" data-testid="stock-save" on:click=save.clone()>"Guardar"</button>
                <button class="button" type="button" on:click=move |_| open.set(false)>"Cancelar"</button>
            </div>
        </div>
    }
}
