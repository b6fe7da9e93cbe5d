//! The return slip: what came back, the money handed back and how, and a line for the
//! customer's signature — on screen after a return is saved, and alone on 80 mm paper when
//! printed, like the sale's ticket.

use leptos::prelude::*;
use pronto_shared::{api::sales::PaymentMethod, domain::money::mxn as money};

use super::ReturnsState;
use crate::components::modal::Modal;

#[component]
pub(super) fn SlipDialog(state: ReturnsState) -> impl IntoView {
    let shown = RwSignal::new(true);
    // A new return shows its slip again.
    Effect::new(move |_| {
        if state.done.with(Option::is_some) {
            shown.set(true);
        }
    });
    let close = Callback::new(move |()| shown.set(false));
    move || {
        state.done.get().filter(|_| shown.get()).map(|d| {
            let kind = if d.void { "Cancelación" } else { "Devolución" };
            let method = if d.method == PaymentMethod::Tarjeta { "Tarjeta" } else { "Efectivo" };
            view! {
                <Modal label=format!("Comprobante de {}", kind.to_lowercase()) class="receipt card" testid="return-slip" on_close=close>
                    <header class="receipt__head">
                        <strong>"Pronto Zapaterías"</strong>
                        <span>{d.store.clone()}</span>
                        <span data-testid="slip-folio">{format!("{kind} {}", d.folio)}</span>
                        <span>{format!("De la venta {}", d.original)}</span>
                        <span>{d.at.clone()}</span>
                        <span>{format!("Atendió: {}", d.cashier)}</span>
                    </header>
                    <ul class="receipt__lines">
                        {if d.void {
                            view! { <li><span>"Toda la venta"</span></li> }.into_any()
                        } else {
                            d.lines.iter().map(|(name, qty, amount)| view! {
                                <li><span>{format!("{qty} × {name}")}</span><span>{money(*amount)}</span></li>
                            }).collect_view().into_any()
                        }}
                    </ul>
                    <p class="receipt__row receipt__total"><span>"Se devuelve"</span><span>{money(d.refund)}</span></p>
                    <p class="receipt__row"><span>"Forma"</span><span>{method}</span></p>
                    <p class="receipt__row"><span>"Motivo"</span><span>{d.reason.clone()}</span></p>
                    <p class="slip__signature">"Firma del cliente"</p>
                    <div class="receipt__actions">
                        <button class="button button--primary" type="button" data-testid="print-slip"
                            on:click=|_| { if let Some(w) = web_sys::window() { let _ = w.print(); } }>"Imprimir"</button>
                        <button class="button" type="button" data-testid="close-slip" autofocus
                            on:click=move |_| close.run(())>"Cerrar"</button>
                    </div>
                </Modal>
            }
        })
    }
}
