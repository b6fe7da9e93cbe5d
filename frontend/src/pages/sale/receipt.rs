//! The ticket: on screen after a sale (a modal: the next sale starts when it closes), and alone
//! on paper (80 mm) when printed.

use leptos::prelude::*;
use pronto_shared::domain::money::mxn as money;

use super::{
    model::{method_label, Receipt},
    scan, SaleState,
};
use crate::components::modal::Modal;

#[component]
pub(super) fn ReceiptDialog(state: SaleState) -> impl IntoView {
    let close = Callback::new(move |()| {
        state.receipt.set(None);
        state.focus_search();
    });
    move || {
        state.receipt.get().map(|receipt| {
            view! {
                <Modal label="Ticket de venta".into() class="receipt card" testid="receipt" on_close=close>
                    <ReceiptBody receipt=receipt />
                    <scan::Waiting state=state />
                    <label class="check">
                        <input type="checkbox" data-testid="scan-closes-receipt"
                            prop:checked=move || state.scan_closes_receipt.get()
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                state.scan_closes_receipt.set(on);
                                scan::set_scan_closes_receipt(on);
                            } />
                        " Al escanear, empezar la venta siguiente"
                    </label>
                    <div class="receipt__actions">
                        <button class="button button--primary" type="button" on:click=|_| print()>"Imprimir"</button>
                        <button class="button" type="button" data-testid="new-sale" autofocus
                            on:click=move |_| close.run(())>"Nueva venta"</button>
                    </div>
                </Modal>
            }
        })
    }
}

fn print() {
    if let Some(window) = web_sys::window() {
        let _ = window.print();
    }
}

#[component]
fn ReceiptBody(receipt: Receipt) -> impl IntoView {
    view! {
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
                    <span>{format!("{} × {} ({}, talla {})", l.quantity, l.product.nombre, l.product.color, l.product.talla)}</span>
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
    }
}
