//! Finding shoes: the search box (names, SKUs), a scanned barcode (a keyboard wedge types the
//! digits and Enter), and the results with a way to the model's size grid.

use leptos::{ev, prelude::*, task::spawn_local};
use pronto_shared::api::products::Product;

use super::{
    grid,
    model::{products, Notice, RESULTS},
    SaleState,
};
use crate::sync_service::Sync;
use pronto_shared::domain::money::mxn as money;

#[component]
pub(super) fn Search(state: SaleState) -> impl IntoView {
    let sync = expect_context::<Sync>();
    let SaleState {
        query,
        results,
        notice,
        search_box,
        search_no,
        ..
    } = state;

    let sync_search = sync.clone();
    let on_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        let Some(store) = sync_search.store() else {
            return;
        };
        search_no.update_value(|n| *n += 1);
        let mine = search_no.get_value();
        spawn_local(async move {
            let found = if text.trim().is_empty() {
                Vec::new()
            } else {
                products(
                    store
                        .search_products(&text, RESULTS)
                        .await
                        .unwrap_or_default(),
                )
            };
            if search_no.get_value() == mine {
                results.set(found);
            }
        });
    };

    // A keyboard-wedge scanner types the digits and Enter: a 13-digit code adds its product at
    // once; otherwise Enter takes the only result.
    let sync_scan = sync.clone();
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        ev.prevent_default();
        let text = query.get_untracked().trim().to_owned();
        if text.len() == 13 && text.chars().all(|c| c.is_ascii_digit()) {
            let sync = sync_scan.clone();
            spawn_local(async move {
                let Some(store) = sync.opened_store().await else {
                    notice.set(Some(Notice::Problem(
                        "El almacenamiento del dispositivo no abrió: recarga la página.".into(),
                    )));
                    return;
                };
                match store.product_by_barcode(&text).await {
                    Ok(Some(value)) => match serde_json::from_value::<Product>(value) {
                        Ok(product) => state.add(product),
                        Err(_) => notice.set(Some(Notice::Problem(format!(
                            "El código {text} no se pudo leer."
                        )))),
                    },
                    _ => notice.set(Some(Notice::Problem(format!(
                        "No hay ningún producto con el código {text}."
                    )))),
                }
            });
        } else if let [only] = results.get_untracked().as_slice() {
            state.add(only.clone());
        }
    };

    view! {
        <section class="sale__find card">
            <label class="field">
                <span class="field__label">"Buscar o escanear"</span>
                <input
                    class="field__input field__input--big"
                    type="search"
                    inputmode="search"
                    autocomplete="off"
                    placeholder="Nombre, SKU o código de barras"
                    data-testid="product-search"
                    node_ref=search_box
                    autofocus
                    prop:value=move || query.get()
                    on:input=on_input
                    on:keydown=on_key
                />
            </label>
            <ul class="results" data-testid="search-results">
                <For
                    each=move || results.get()
                    key=|p| p.id
                    children=move |p: Product| view! { <ResultRow product=p state=state sync=sync.clone() /> }
                />
            </ul>
        </section>
    }
}

/// One product found: a tap adds it; "Tallas" opens its model's grid.
#[component]
fn ResultRow(product: Product, state: SaleState, sync: Sync) -> impl IntoView {
    let p = product;
    let chosen = p.clone();
    let model = p.clone();
    view! {
        <li class="result-row">
            <button class="result" type="button" on:click=move |_| state.add(chosen.clone())>
                <span class="result__name">{p.nombre.clone()}</span>
                <span class="result__meta">
                    {format!("{} · {} · talla {}", p.sku, p.color, p.talla)}
                </span>
                <span class="result__price">{money(p.precio)}</span>
            </button>
            <button class="button result__grid" type="button" data-testid="open-grid"
                aria-label="Ver tallas y colores" on:click=move |_| grid::open(&sync, state, model.clone())>
                "Tallas"
            </button>
        </li>
    }
}
