//! The sale's lines: quantity up and down, a discount per line, remove.

use leptos::prelude::*;
use pronto_shared::domain::money::mxn as money;

use super::{model::CartLine, SaleState};

#[component]
pub(super) fn CartLines(state: SaleState) -> impl IntoView {
    let SaleState {
        cart, field_errors, ..
    } = state;
    view! {
        <header class="sale__head">
            <h1 class="sale__title">"Venta"</h1>
            <a class="button" href="/devolucion" data-testid="go-return">"Devolución"</a>
        </header>
        {move || cart.with(Vec::is_empty).then(|| view! {
            <p class="muted">"Escanea o busca un producto para empezar."</p>
        })}
        <ul class="cart sale__lines" aria-label="Productos de la venta">
            <For
                each=move || cart.get().into_iter().enumerate()
                key=|(i, l)| (*i, l.product.id, l.quantity, l.discount.clone())
                children=move |(index, line): (usize, CartLine)| {
                    let id = line.product.id;
                    let bump = move |delta: i64| cart.update(|lines| {
                        if let Some(l) = lines.iter_mut().find(|l| l.product.id == id) {
                            l.quantity = (l.quantity + delta).max(1);
                        }
                    });
                    let error = move || field_errors.with(|e| e.get(&format!("lineas[{index}].descuento")).map(str::to_owned));
                    view! {
                        <li class="cart__line" data-testid="cart-line">
                            <span class="cart__name">
                                {line.product.nombre.clone()}
                                <span class="muted">{format!(" · {} · talla {}", line.product.color, line.product.talla)}</span>
                            </span>
                            <span class="cart__qty">
                                <button class="button button--round" type="button" aria-label="Quitar uno" on:click=move |_| bump(-1)>"−"</button>
                                <span data-testid="cart-qty">{line.quantity}</span>
                                <button class="button button--round" type="button" aria-label="Agregar uno" on:click=move |_| bump(1)>"+"</button>
                            </span>
                            <span class="cart__amount">{money(line.amount())}</span>
                            <label class="cart__discount">
                                <span class="field__label">"Desc. %"</span>
                                <input class="field__input" inputmode="decimal" placeholder="0" data-testid="line-discount"
                                    aria-invalid=move || error().is_some().to_string()
                                    prop:value=line.discount.clone()
                                    on:change=move |ev| {
                                        let text = event_target_value(&ev);
                                        cart.update(|lines| if let Some(l) = lines.iter_mut().find(|l| l.product.id == id) { l.discount = text });
                                    } />
                            </label>
                            {move || error().map(|m| view! {
                                <span class="field__error cart__error" role="alert" data-testid="line-discount-error">{m}</span>
                            })}
                            <button class="button button--ghost-dark" type="button" aria-label="Quitar de la venta"
                                on:click=move |_| cart.update(|lines| lines.retain(|l| l.product.id != id))>
                                "Quitar"
                            </button>
                        </li>
                    }
                }
            />
        </ul>
    }
}
