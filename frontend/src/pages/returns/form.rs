//! The return of the sale found: pairs per line (never more than are left), the reason, how
//! the money goes back, the refund the shared rule gives, and the record in the outbox.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        returns::{ReturnInput, ReturnLineInput},
        sales::{folio, PaymentMethod, SaleLine},
    },
    domain::FieldErrors,
    sync::{config, engine::LocalChange, OpKind},
};
use uuid::Uuid;

use super::{lookup::Found, Done, ReturnsState, Till};
use pronto_shared::domain::money::mxn as money;

/// The return as chosen so far (`void`: the whole sale, no lines).
fn input(state: ReturnsState, f: &Found, void: bool, id: Uuid, motivo: String) -> ReturnInput {
    let lineas = if void {
        Vec::new()
    } else {
        state
            .quantities
            .get_untracked()
            .into_iter()
            .filter(|(_, q)| *q > 0)
            .map(|(producto_id, cantidad)| ReturnLineInput {
                producto_id,
                cantidad,
            })
            .collect()
    };
    ReturnInput {
        id,
        venta_id: f.sale.id,
        lineas,
        reembolso: state.method.get_untracked(),
        motivo,
        cancelacion: void,
    }
}

/// The refund of what is chosen now, as the shared rule computes it.
fn refund_preview(state: ReturnsState) -> Option<i64> {
    let f = state.found.get()?;
    state.quantities.track();
    state.method.track();
    input(state, &f, false, Uuid::nil(), "x".into())
        .validate(&f.sale, &f.earlier)
        .ok()
        .map(|v| v.refund.centavos())
}

/// Checks the return with the shared rule and records it.
fn save(till: &Till, state: ReturnsState, void: bool) {
    if state.saving.get_untracked() {
        return;
    }
    let (Some(this), Some(profile), Some(f)) = (
        till.device.device.get_untracked(),
        till.session.profile_untracked(),
        state.found.get_untracked(),
    ) else {
        return;
    };
    let input = input(
        state,
        &f,
        void,
        Uuid::now_v7(),
        state.reason.get_untracked(),
    );
    let valid = match input.validate(&f.sale, &f.earlier) {
        Ok(v) => v,
        Err(e) => {
            state.errors.set(e);
            return;
        }
    };
    state.errors.set(FieldErrors::new());
    let Some(change) = LocalChange::of(config::VENTA, input.id, OpKind::Return, None, &input)
    else {
        return;
    };
    state.saving.set(true);
    let sync = till.sync.clone();
    spawn_local(async move {
        match sync.record(change, &this, &profile).await {
            Ok(op) => {
                let lines = valid
                    .lines
                    .iter()
                    .map(|l| {
                        let name = f
                            .sale
                            .lineas
                            .iter()
                            .find(|s| s.producto_id == l.product_id)
                            .map(|s| f.describe(l.product_id, &s.nombre))
                            .unwrap_or_default();
                        (name, l.quantity.get(), l.amount.centavos())
                    })
                    .collect();
                state.done.set(Some(Done {
                    folio: folio(&profile.tienda.codigo, &this.codigo, op.body.seq),
                    original: f.sale.folio.clone(),
                    store: profile.tienda.nombre.clone(),
                    cashier: profile.nombre.clone(),
                    at: crate::local_time::now(),
                    lines,
                    reason: valid.reason.clone(),
                    refund: valid.refund.centavos(),
                    method: input.reembolso,
                    void,
                }));
                state.found.set(None);
                state.folio_text.set(String::new());
                state.reason.set(String::new());
                state.quantities.set(Default::default());
            }
            Err(e) => state
                .problem
                .set(Some(format!("No se pudo guardar en el dispositivo: {e}"))),
        }
        state.saving.set(false);
    });
}

#[component]
pub(super) fn ReturnForm(found: Found, state: ReturnsState, till: Till) -> impl IntoView {
    let ReturnsState {
        quantities,
        reason,
        method,
        errors,
        saving,
        ..
    } = state;
    let f = found;
    let left = f.left();
    let till_void = till.clone();
    view! {
        <section class="card returns__sale" data-testid="return-sale">
            <h2>{format!("Venta {} · {}", f.sale.folio, money(f.sale.total))}</h2>
            <ul class="cart">
                {f.sale.lineas.iter().map(|line: &SaleLine| {
                    let product = line.producto_id;
                    let max = left.get(&product).copied().unwrap_or(0).max(0);
                    let bump = move |delta: i64| quantities.update(|q| {
                        let n = q.entry(product).or_default();
                        *n = (*n + delta).clamp(0, max);
                    });
                    view! {
                        <li class="cart__line" data-testid="return-line">
                            <span class="cart__name">
                                {f.describe(product, &line.nombre)}
                                <span class="muted">{format!(" · vendidos {} · quedan {}", line.cantidad, max)}</span>
                            </span>
                            <span class="cart__qty">
                                <button class="button button--round" type="button" aria-label="Uno menos" on:click=move |_| bump(-1)>"−"</button>
                                <span data-testid="return-qty">{move || quantities.with(|q| q.get(&product).copied().unwrap_or(0))}</span>
                                <button class="button button--round" type="button" aria-label="Uno más" data-testid="return-more" on:click=move |_| bump(1)>"+"</button>
                            </span>
                            <span class="cart__amount">{money(line.precio_unitario)}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || errors.with(|e| e.get("lineas").or_else(|| e.get("lineas[0].cantidad")).map(str::to_owned)).map(|m| view! {
                <p class="field__error" role="alert">{m}</p>
            })}
            <label class="field">
                <span class="field__label">"Motivo"</span>
                <input class="field__input" autocomplete="off" data-testid="return-reason"
                    placeholder="Talla equivocada, defecto…"
                    aria-invalid=move || errors.with(|e| e.get("motivo").is_some()).to_string()
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev)) />
                {move || errors.with(|e| e.get("motivo").map(str::to_owned)).map(|m| view! {
                    <span class="field__error" role="alert" data-testid="return-reason-error">{m}</span>
                })}
            </label>
            <div class="pay" role="radiogroup" aria-label="Reembolso">
                <button type="button" class="pay__option" aria-pressed=move || (method.get() == PaymentMethod::Efectivo).to_string()
                    on:click=move |_| method.set(PaymentMethod::Efectivo)>"Efectivo"</button>
                <button type="button" class="pay__option" aria-pressed=move || (method.get() == PaymentMethod::Tarjeta).to_string()
                    on:click=move |_| method.set(PaymentMethod::Tarjeta)>"Tarjeta"</button>
            </div>
            <p class="sale__total">
                <span>"A devolver"</span>
                <strong data-testid="refund">{move || refund_preview(state).map(money).unwrap_or_else(|| "—".into())}</strong>
            </p>
            {move || errors.with(|e| e.get("cancelacion").map(str::to_owned)).map(|m| view! {
                <p class="field__error" role="alert">{m}</p>
            })}
            <div class="returns__actions">
                <button class="button button--primary" type="button" data-testid="save-return"
                    disabled=move || saving.get() on:click=move |_| save(&till, state, false)>"Registrar devolución"</button>
                <button class="button" type="button" data-testid="void-sale"
                    disabled=move || saving.get() || !f.earlier.is_empty()
                    on:click=move |_| save(&till_void, state, true)>"Cancelar la venta completa"</button>
            </div>
        </section>
    }
}
