//! The ticket's discount and totals, how it is paid (cash, card, both), the change, and the
//! button that charges.

use leptos::prelude::*;
use pronto_shared::domain::money::mxn as money;

use super::{
    checkout,
    model::{Notice, Pay},
    SaleState,
};

#[component]
pub(super) fn Payment(state: SaleState) -> impl IntoView {
    let charge = checkout::charger(state);
    let SaleState {
        cart,
        method,
        card_amount,
        discount_text,
        field_errors,
        received,
        notice,
        saving,
        ..
    } = state;
    let error =
        move |field: &'static str| move || field_errors.with(|e| e.get(field).map(str::to_owned));
    let option = move |pay: Pay, testid: &'static str, label: &'static str| {
        view! {
            <button type="button" class="pay__option" data-testid=testid
                aria-pressed=move || (method.get() == pay).to_string()
                on:click=move |_| method.set(pay)>{label}</button>
        }
    };
    view! {
        <label class="field">
            <span class="field__label">"Descuento (%)"</span>
            <input class="field__input" inputmode="decimal" placeholder="0" data-testid="discount"
                aria-invalid=move || error("descuento")().is_some().to_string()
                prop:value=move || discount_text.get()
                on:input=move |ev| discount_text.set(event_target_value(&ev)) />
            {move || error("descuento")().map(|m| view! {
                <span class="field__error" role="alert" data-testid="discount-error">{m}</span>
            })}
        </label>
        {move || (state.discount() > 0).then(|| view! {
            <p class="receipt__row"><span>"Subtotal"</span><span>{money(state.subtotal())}</span></p>
            <p class="receipt__row"><span>"Descuento"</span><span>{format!("-{}", money(state.discount()))}</span></p>
        })}
        <p class="sale__total">
            <span>"Total"</span>
            <strong data-testid="sale-total">{move || money(state.total())}</strong>
        </p>
        <div class="pay" role="radiogroup" aria-label="Forma de pago">
            {option(Pay::Cash, "pay-cash", "Efectivo")}
            {option(Pay::Card, "pay-card", "Tarjeta")}
            {option(Pay::Mixed, "pay-mixed", "Mixto")}
        </div>
        {move || (method.get() == Pay::Mixed).then(|| view! {
            <label class="field">
                <span class="field__label">"Con tarjeta"</span>
                <input class="field__input" inputmode="decimal" data-testid="card-amount"
                    prop:value=move || card_amount.get()
                    on:input=move |ev| card_amount.set(event_target_value(&ev)) />
            </label>
        })}
        {move || (method.get() != Pay::Card).then(|| view! {
            <label class="field">
                <span class="field__label">"Efectivo recibido"</span>
                <input class="field__input" inputmode="decimal" data-testid="cash-received"
                    placeholder=move || money(state.total())
                    prop:value=move || received.get()
                    on:input=move |ev| received.set(event_target_value(&ev)) />
            </label>
            <p class="sale__change">
                "Cambio: " <strong data-testid="change-due">{move || state.change_due().map(money).unwrap_or_else(|| "—".into())}</strong>
            </p>
        })}
        {move || error("pagos")().map(|m| view! {
            <p class="field__error" role="alert" data-testid="payment-error">{m}</p>
        })}
        <button class="button button--primary button--block" type="button" data-testid="charge"
            disabled=move || cart.with(Vec::is_empty) || saving.get()
            on:click=move |_| charge()>
            {move || if saving.get() { "Guardando…".to_owned() } else { format!("Cobrar {}", money(state.total())) }}
        </button>
        {move || notice.get().map(|n| match n {
            Notice::Saved(text) => view! { <p class="notice notice--ok" role="status" data-testid="sale-saved">{text}</p> }.into_any(),
            Notice::Problem(text) => view! { <p class="notice notice--bad" role="alert" data-testid="sale-problem">{text}</p> }.into_any(),
        })}
    }
}
