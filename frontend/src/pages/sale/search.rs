//! Finding shoes: the search box (names, SKUs, a code typed by hand) and the results, one row
//! per model with its colours; a tap opens the model's size × colour grid. Scanned codes do not
//! come through here but through the scanner service ([`super::scan`]).

use leptos::{ev, prelude::*, task::spawn_local};
use pronto_shared::domain::money::mxn as money;

use super::{
    grid,
    model::{by_model, products, ModelRow, RESULTS, VARIANTS_READ},
    scan, SaleState,
};
use crate::sync_service::Sync;

/// A code typed by hand: only digits, as long as the shortest barcode.
fn looks_like_code(text: &str) -> bool {
    text.len() >= crate::scanner::MIN_SCAN && text.chars().all(|c| c.is_ascii_digit())
}

#[component]
pub(super) fn Search(state: SaleState) -> impl IntoView {
    let sync = expect_context::<Sync>();
    let SaleState {
        query,
        results,
        no_results,
        scan_problem,
        search_box,
        search_no,
        ..
    } = state;

    let sync_search = sync.clone();
    let on_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        scan_problem.set(None);
        search_no.update_value(|n| *n += 1);
        let mine = search_no.get_value();
        let sync = sync_search.clone();
        spawn_local(async move {
            // Typed before the device's storage opened: the search waits for it.
            let Some(store) = sync.opened_store().await else {
                return;
            };
            let found = if text.trim().is_empty() {
                Vec::new()
            } else {
                products(
                    store
                        .search_products(&text, VARIANTS_READ)
                        .await
                        .unwrap_or_default(),
                )
            };
            if search_no.get_value() == mine {
                no_results.set(found.is_empty() && !text.trim().is_empty());
                results.set(found);
            }
        });
    };

    // Enter: a code typed by hand adds its pair; one variant found is added; one model found
    // opens its grid.
    let sync_enter = sync.clone();
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        ev.prevent_default();
        let text = query.get_untracked().trim().to_owned();
        if looks_like_code(&text) {
            scan::add_code(state, sync_enter.clone(), text);
            return;
        }
        let found = results.get_untracked();
        if let [only] = found.as_slice() {
            state.add(only.clone());
        } else if let [model] = by_model(&found, 2).as_slice() {
            grid::open(&sync_enter, state, model.first.clone());
        }
    };

    let models = Memo::new(move |_| results.with(|found| by_model(found, RESULTS)));
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
            {move || scan_problem.get().map(|text| view! {
                <p class="field__error scan__problem" role="alert" data-testid="scan-problem">{text}</p>
            })}
            {move || no_results.get().then(|| view! {
                <p class="muted" role="status" data-testid="no-results">
                    {format!("Sin resultados para «{}».", query.get_untracked().trim())}
                </p>
            })}
            <ul class="results" data-testid="search-results">
                <For
                    each=move || models.get()
                    key=|m| m.first.id
                    children=move |m: ModelRow| view! { <ResultRow model=m state=state sync=sync.clone() /> }
                />
            </ul>
        </section>
    }
}

/// One model found: a tap opens its grid of sizes and colours with this store's stock.
#[component]
fn ResultRow(model: ModelRow, state: SaleState, sync: Sync) -> impl IntoView {
    let price = if model.low == model.high {
        money(model.low)
    } else {
        format!("{} – {}", money(model.low), money(model.high))
    };
    let first = model.first.clone();
    view! {
        <li>
            <button class="result" type="button" data-testid="open-grid"
                on:click=move |_| grid::open(&sync, state, first.clone())>
                <span class="result__name">{model.first.nombre.clone()}</span>
                <span class="result__meta">
                    {format!("{} · {}", model.first.marca, model.colors.join(", "))}
                </span>
                <span class="result__price">{price}</span>
            </button>
        </li>
    }
}
