//! The ticket's discount and totals, how it is paid (cash, card, both), the change, and the
//! button that charges. Every problem is said at its field and goes when the field changes.

use leptos::prelude::*;
use pronto_shared::domain::money::mxn as money;

use super::{
    checkout,
    model::{quick_cash, typed, Notice, Pay},
    SaleState,
};

/// Where payment problems are shown: the card amount and the cash received.
pub(super) const CARD: &str = "tarjeta";
pub(super) const CASH: &str = "efectivo";

#[component]
pub(super) fn Payment(state: SaleState) -> impl IntoView {
    let charge = checkout::charger(state);
    let SaleState {
        cart,
        method,
        discount_text,
        field_errors,
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
                on:click=move |_| {
                    method.set(pay);
                    field_errors.update(|e| { e.remove(CARD); e.remove(CASH); });
                }>{label}</button>
        }
    };
    view! {
        <div class="pay__discount">
            <label class="field">
                <span class="field__label">"Desc. %"</span>
                <input class="field__input" inputmode="decimal" placeholder="0" data-testid="discount"
                    aria-invalid=move || error("descuento")().is_some().to_string()
                    prop:value=move || discount_text.get()
                    on:input=move |ev| {
                        discount_text.set(event_target_value(&ev));
                        field_errors.update(|e| e.remove("descuento"));
                    } />
                {move || error("descuento")().map(|m| view! {
                    <span class="field__error" role="alert" data-testid="discount-error">{m}</span>
                })}
            </label>
            <p class="sale__total">
                <span>"Total"</span>
                <strong data-testid="sale-total">{move || money(state.total())}</strong>
            </p>
        </div>
        {move || (state.discount() > 0).then(|| view! {
            <p class="receipt__row"><span>"Subtotal"</span><span>{money(state.subtotal())}</span></p>
            <p class="receipt__row"><span>"Descuento"</span><span>{format!("-{}", money(state.discount()))}</span></p>
        })}
        <div class="pay" role="group" aria-label="Forma de pago">
            {option(Pay::Cash, "pay-cash", "Efectivo")}
            {option(Pay::Card, "pay-card", "Tarjeta")}
            {option(Pay::Mixed, "pay-mixed", "Mixto")}
        </div>
        {move || (method.get() == Pay::Mixed).then(|| view! { <CardAmount state=state /> })}
        {move || (method.get() != Pay::Card).then(|| view! { <CashReceived state=state /> })}
        {move || error(CARD)().filter(|_| method.get() == Pay::Card).map(|m| view! {
            <p class="field__error" role="alert" data-testid="payment-error">{m}</p>
        })}
        <button class="button button--primary button--block sale__charge" type="button" data-testid="charge"
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

/// What cash must pay: the total, less the card's part in a mixed payment.
fn cash_due(state: SaleState) -> i64 {
    let card = match state.method.get() {
        Pay::Mixed => typed(&state.card_amount.get(), 0).unwrap_or(0),
        _ => 0,
    };
    (state.total() - card).max(0)
}

#[component]
fn CardAmount(state: SaleState) -> impl IntoView {
    let SaleState {
        card_amount,
        field_errors,
        ..
    } = state;
    let error = move || field_errors.with(|e| e.get(CARD).map(str::to_owned));
    view! {
        <label class="field">
            <span class="field__label">"Con tarjeta"</span>
            <input class="field__input" inputmode="decimal" placeholder="0" data-testid="card-amount"
                aria-invalid=move || error().is_some().to_string()
                prop:value=move || card_amount.get()
                on:input=move |ev| {
                    card_amount.set(event_target_value(&ev));
                    field_errors.update(|e| { e.remove(CARD); e.remove(CASH); });
                } />
            {move || error().map(|m| view! {
                <span class="field__error" role="alert" data-testid="payment-error">{m}</span>
            })}
        </label>
    }
}

/// The cash received (empty means exactly what is due), quick amounts, and the change.
#[component]
fn CashReceived(state: SaleState) -> impl IntoView {
    let SaleState {
        received,
        field_errors,
        ..
    } = state;
    let error = move || field_errors.with(|e| e.get(CASH).map(str::to_owned));
    let set = move |text: String| {
        received.set(text);
        field_errors.update(|e| e.remove(CASH));
    };
    view! {
        <div class="cash-row">
        <label class="field">
            <span class="field__label">"Recibido"</span>
            <input class="field__input" inputmode="decimal" data-testid="cash-received"
                placeholder=move || money(cash_due(state))
                aria-invalid=move || error().is_some().to_string()
                prop:value=move || received.get()
                on:input=move |ev| set(event_target_value(&ev)) />
            {move || error().map(|m| view! {
                <span class="field__error" role="alert" data-testid="payment-error">{m}</span>
            })}
        </label>
        <p class="sale__change">
            "Cambio " <strong data-testid="change-due">{move || state.change_due().map(money).unwrap_or_else(|| "—".into())}</strong>
        </p>
        </div>
        <div class="quick-cash" role="group" aria-label="Efectivo rápido">
            {move || quick_cash(cash_due(state)).into_iter().enumerate().map(|(i, amount)| {
                // "Exacto" says its amount to a screen reader; the others show theirs.
                let (label, spoken) = if i == 0 {
                    ("Exacto".to_owned(), Some(format!("Exacto {}", money(amount))))
                } else {
                    (money(amount), None)
                };
                view! {
                    <button type="button" class="button quick-cash__amount" data-testid="quick-cash"
                        aria-label=spoken
                        on:click=move |_| set(format!("{}.{:02}", amount / 100, amount % 100))>{label}</button>
                }
            }).collect_view()}
        </div>
    }
}
