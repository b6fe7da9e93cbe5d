//! The manager's approval of discounts above the store's limit: who approves and their PIN.

use leptos::prelude::*;
use pronto_shared::{api::approval, domain::money::mxn as money};

use super::{checkout, scan, SaleState};
use crate::components::modal::Modal;

#[component]
pub(super) fn ApprovalDialog(state: SaleState) -> impl IntoView {
    let approve = checkout::approver(state);
    let SaleState {
        approving,
        approver,
        approval_pin,
        approval_error,
        ..
    } = state;
    let close = Callback::new(move |()| {
        approving.set(None);
        state.focus_search();
    });
    move || {
        approving.get().map(|pending| {
        let percent = {
            let gross: i64 = pending.valid.lines.iter().map(|l| l.amount.centavos() + l.discount.centavos()).sum();
            if gross > 0 { approval::discount_of(&pending.valid) as f64 * 100.0 / gross as f64 } else { 0.0 }
        };
        let approve = approve.clone();
        view! {
            <Modal label="Autorización del gerente".into() class="receipt card approval" testid="approval" on_close=close>
                    <h2>"Autorización del gerente"</h2>
                    <p>{format!(
                        "El descuento de {} ({:.1} %) pasa el límite de {} % de la tienda.",
                        money(approval::discount_of(&pending.valid)), percent, pending.rule.descuento_sin_autorizacion,
                    )}</p>
                    {if pending.rule.autorizadores.is_empty() {
                        view! {
                            <p class="notice notice--bad" role="alert" data-testid="approval-none">
                                "Ningún gerente tiene PIN de autorización en este dispositivo. Conéctate una vez después de que el gerente registre su PIN, o quita el descuento."
                            </p>
                        }.into_any()
                    } else {
                        view! {
                            <div class="pay" role="radiogroup" aria-label="Quién autoriza">
                                {pending.rule.autorizadores.iter().map(|a| {
                                    let id = a.id;
                                    view! {
                                        <button type="button" class="pay__option" data-testid="approver"
                                            aria-pressed=move || (approver.get() == Some(id)).to_string()
                                            on:click=move |_| approver.set(Some(id))>{a.nombre.clone()}</button>
                                    }
                                }).collect_view()}
                            </div>
                            <label class="field">
                                <span class="field__label">"PIN del gerente"</span>
                                <input class="field__input field__input--big" type="password" inputmode="numeric" autocomplete="off"
                                    data-testid="approval-pin" autofocus
                                    prop:value=move || approval_pin.get()
                                    on:input=move |ev| approval_pin.set(event_target_value(&ev)) />
                                {move || approval_error.get().map(|m| view! {
                                    <span class="field__error" role="alert" data-testid="approval-error">{m}</span>
                                })}
                            </label>
                        }.into_any()
                    }}
                    <div class="receipt__actions">
                        <button class="button button--primary" type="button" data-testid="approve"
                            disabled=pending.rule.autorizadores.is_empty()
                            on:click=move |_| approve()>"Autorizar y cobrar"</button>
                        <button class="button" type="button" on:click=move |_| close.run(())>"Volver"</button>
                    </div>
                    <scan::Waiting state=state />
            </Modal>
        }
    })
    }
}
