//! The ticket: on screen after a sale, and alone on paper (80 mm) when printed.

use leptos::prelude::*;
use pronto_shared::domain::money::mxn as money;

use super::model::{method_label, Receipt};

#[component]
pub(super) fn ReceiptView(receipt: Receipt, on_close: impl Fn() + 'static) -> impl IntoView {
    let print = |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <div class="receipt-backdrop">
            <section class="receipt card" role="dialog" aria-label="Ticket de venta" data-testid="receipt">
                <header class="receipt__head">
                    <strong>"Pronto Zapaterías"</strong>
                    <span>{receipt.store.clone()}</span>
                    <span data-testid="receipt-folio">{format!("Folio {}", receipt.folio)}</span>
                    <span>{receipt.at.clone()}</span>
                    <span>{format!("Le atendió: {}", receipt.cashier)}</span>
                </header>
                <ul class="receipt__lines">
                    {receipt.lines.iter().map(|l| view! {
                        <li>
                            <span>{format!("{} × {} (talla {})", l.quantity, l.product.nombre, l.product.talla)}</span>
                            <span>{money(l.amount())}</span>
                        </li>
                    }).collect_view()}
                </ul>
                {(receipt.discount > 0).then(|| view! {
                    <p class="receipt__row"><span>"Descuento"</span><span>{format!("-{}", money(receipt.discount))}</span></p>
                })}
                <p class="receipt__row receipt__total"><span>"Total"</span><span>{money(receipt.total)}</span></p>
                {receipt.payments.iter().map(|(m, amount)| view! {
                    <p class="receipt__row"><span>{method_label(*m)}</span><span>{money(*amount)}</span></p>
                }).collect_view()}
                <p class="receipt__row"><span>"Cambio"</span><span>{money(receipt.change)}</span></p>
                {receipt.customer.clone().map(|name| view! { <p class="receipt__row"><span>"Cliente"</span><span>{name}</span></p> })}
                <p class="receipt__thanks">"¡Gracias por su compra!"</p>
                <div class="receipt__actions">
                    <button class="button button--primary" type="button" on:click=print>"Imprimir"</button>
                    <button class="button" type="button" data-testid="new-sale" on:click=move |_| on_close()>"Nueva venta"</button>
                </div>
            </section>
        </div>
    }
}
