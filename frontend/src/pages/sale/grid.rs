//! A model's size × colour grid with this store's stock per cell; a tap adds that variant.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{api::products::Product, sync::config};
use serde_json::Value;
use uuid::Uuid;

use super::{
    model::{products, size_label, tenths, Grid},
    SaleState,
};
use crate::{components::modal::Modal, sync_service::Sync};

/// Opens the grid of `product`'s model (same name and brand), read from the device's cache.
pub(super) fn open(sync: &Sync, state: SaleState, product: Product) {
    let Some(store) = sync.store() else {
        return;
    };
    spawn_local(async move {
        let variants: Vec<Product> = products(
            store
                .search_products(&product.nombre, 1_000)
                .await
                .unwrap_or_default(),
        )
        .into_iter()
        .filter(|p| p.nombre == product.nombre && p.marca == product.marca)
        .collect();
        let ids: Vec<Uuid> = variants.iter().map(|p| p.id).collect();
        let stock = store
            .cached_many(config::EXISTENCIA, &ids)
            .await
            .unwrap_or_default();
        let mut colors: Vec<String> = variants.iter().map(|p| p.color.clone()).collect();
        colors.sort();
        colors.dedup();
        let mut sizes: Vec<i64> = variants.iter().map(|p| tenths(p.talla)).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let cells = variants
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let quantity = stock
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(|s| s.get("cantidad"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                (p.color.clone(), tenths(p.talla), p, quantity)
            })
            .collect();
        state.grid.set(Some(Grid {
            name: product.nombre.clone(),
            colors,
            sizes,
            cells,
        }));
    });
}

#[component]
pub(super) fn SizeGrid(state: SaleState) -> impl IntoView {
    let grid = state.grid;
    let close = Callback::new(move |()| {
        grid.set(None);
        state.focus_search();
    });
    move || {
        grid.get().map(|g| {
        let sizes = g.sizes.clone();
        let rows = g.colors.clone();
        view! {
            <Modal label=format!("Tallas y colores de {}", g.name) class="grid card" testid="size-grid" on_close=close>
                    <header class="grid__head">
                        <h2>{g.name.clone()}</h2>
                        <button class="button" type="button" on:click=move |_| close.run(())>"Cerrar"</button>
                    </header>
                    <p class="muted">"Existencias de esta tienda. Toca una talla para agregarla a la venta."</p>
                    <div class="grid__scroll">
                        <table class="grid__table">
                            <thead>
                                <tr>
                                    <th scope="col">"Color / talla"</th>
                                    {sizes.iter().map(|s| view! { <th scope="col">{size_label(*s)}</th> }).collect_view()}
                                </tr>
                            </thead>
                            <tbody>
                                {rows.into_iter().map(|color| {
                                    let cells = sizes.iter().map(|size| match g.cell(&color, *size) {
                                        Some((product, stock)) => {
                                            let class = if stock <= 0 { "grid__cell grid__cell--out" } else { "grid__cell" };
                                            view! {
                                                <td>
                                                    <button class=class type="button" data-testid="grid-cell"
                                                        data-product=product.id.to_string() data-stock=stock.to_string()
                                                        aria-label=format!("{} talla {}: {} en existencia", product.color, size_label(*size), stock)
                                                        on:click=move |_| { state.add(product.clone()); grid.set(None); }>
                                                        {stock}
                                                    </button>
                                                </td>
                                            }.into_any()
                                        }
                                        None => view! { <td class="grid__none">"—"</td> }.into_any(),
                                    }).collect_view();
                                    view! { <tr><th scope="row">{color.clone()}</th>{cells}</tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
            </Modal>
        }
    })
    }
}
