//! Returns and voids at the till: find the sale by the folio on its receipt (or just its
//! number, for a sale of this device), choose what comes back, say why, and hand back the
//! amount the shared refund rule gives. Offline too: a sale still in the outbox is found there,
//! and returns still in the outbox count against what is left of their sale.
//!
//! `lookup.rs` finds the sale; `form.rs` is the return of it; both over [`ReturnsState`].

use std::collections::BTreeMap;

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::sales::{folio, PaymentKind, PaymentMethod, SaleKind},
    domain::FieldErrors,
};
use uuid::Uuid;

use crate::{device::ThisDevice, session::Session, sync_service::Sync};
use pronto_shared::domain::money::mxn as money;

mod form;
mod lookup;
mod slip;

use lookup::Found;

/// What the cashier is told after saving.
#[derive(Debug, Clone, PartialEq)]
struct Done {
    folio: String,
    /// The folio of the sale it returns.
    original: String,
    store: String,
    cashier: String,
    at: String,
    /// Pairs coming back: description, quantity, amount.
    lines: Vec<(String, i64, i64)>,
    reason: String,
    refund: i64,
    method: PaymentMethod,
    void: bool,
}

/// Everything the returns screen holds.
#[derive(Clone, Copy)]
struct ReturnsState {
    folio_text: RwSignal<String>,
    found: RwSignal<Option<Found>>,
    problem: RwSignal<Option<String>>,
    /// Pairs coming back, per product.
    quantities: RwSignal<BTreeMap<Uuid, i64>>,
    reason: RwSignal<String>,
    method: RwSignal<PaymentMethod>,
    errors: RwSignal<FieldErrors>,
    done: RwSignal<Option<Done>>,
    saving: RwSignal<bool>,
}

/// Who records at this till.
#[derive(Clone)]
struct Till {
    sync: Sync,
    device: ThisDevice,
    session: Session,
}

/// Looks the typed folio up; a bare number is a sale of this till.
fn search(till: &Till, state: ReturnsState) {
    let (Some(this), Some(profile), Some(store)) = (
        till.device.device.get_untracked(),
        till.session.profile_untracked(),
        till.sync.store(),
    ) else {
        state.problem.set(Some(
            "Registra este dispositivo en su tienda primero.".into(),
        ));
        return;
    };
    let typed = state.folio_text.get_untracked().trim().to_uppercase();
    let wanted = match typed.parse::<u64>() {
        Ok(n) => folio(&profile.tienda.codigo, &this.codigo, n),
        Err(_) => typed,
    };
    state.problem.set(None);
    state.done.set(None);
    state.errors.set(FieldErrors::new());
    spawn_local(async move {
        let codes = (
            profile.tienda.id,
            profile.tienda.codigo.as_str(),
            this.codigo.as_str(),
        );
        match lookup::find(&store, &wanted, codes).await {
            Ok(Some(f)) if f.sale.tipo != SaleKind::Venta => {
                state.found.set(None);
                state
                    .problem
                    .set(Some(format!("{wanted} es una devolución, no una venta.")));
            }
            Ok(Some(f)) => {
                state.quantities.set(BTreeMap::new());
                state.method.set(match f.sale.forma_pago {
                    PaymentKind::Tarjeta => PaymentMethod::Tarjeta,
                    _ => PaymentMethod::Efectivo,
                });
                state.found.set(Some(f));
            }
            Ok(None) => {
                state.found.set(None);
                state.problem.set(Some(format!(
                    "No se encontró la venta {wanted} en este dispositivo."
                )));
            }
            Err(e) => state
                .problem
                .set(Some(format!("No se pudo leer el dispositivo: {e}"))),
        }
    });
}

#[component]
pub fn Returns() -> impl IntoView {
    let till = Till {
        sync: expect_context::<Sync>(),
        device: expect_context::<ThisDevice>(),
        session: expect_context::<Session>(),
    };
    let state = ReturnsState {
        folio_text: RwSignal::new(String::new()),
        found: RwSignal::new(None),
        problem: RwSignal::new(None),
        quantities: RwSignal::new(BTreeMap::new()),
        reason: RwSignal::new(String::new()),
        method: RwSignal::new(PaymentMethod::Efectivo),
        errors: RwSignal::new(FieldErrors::new()),
        done: RwSignal::new(None),
        saving: RwSignal::new(false),
    };
    let ReturnsState {
        folio_text,
        found,
        problem,
        done,
        ..
    } = state;
    let (find_submit, find_click) = (till.clone(), till.clone());
    // A real folio of this till as the example: what the cashier reads on its receipts.
    let example = match (
        till.session.profile_untracked(),
        till.device.device.get_untracked(),
    ) {
        (Some(p), Some(d)) => format!("{} o solo 123", folio(&p.tienda.codigo, &d.codigo, 123)),
        _ => "Folio del ticket o solo su número".to_owned(),
    };
    view! {
        <div class="returns">
            <section class="card">
                <h1>"Devolución o cancelación"</h1>
                <form class="returns__find" on:submit=move |ev| { ev.prevent_default(); search(&find_submit, state); }>
                    <label class="field">
                        <span class="field__label">"Folio del ticket"</span>
                        <input class="field__input field__input--big" autocomplete="off" autofocus
                            placeholder=example data-testid="return-folio"
                            prop:value=move || folio_text.get()
                            on:input=move |ev| folio_text.set(event_target_value(&ev)) />
                    </label>
                    <button class="button button--primary" type="submit" data-testid="find-sale"
                        on:click=move |ev| { ev.prevent_default(); search(&find_click, state); }>"Buscar"</button>
                </form>
                {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert" data-testid="return-problem">{p}</p> })}
                {move || done.get().map(|d| view! {
                    <p class="notice notice--ok" role="status" data-testid="return-saved">
                        {format!(
                            "{} guardada · folio {} · devolver {} en {}",
                            if d.void { "Cancelación" } else { "Devolución" },
                            d.folio,
                            money(d.refund),
                            if d.method == PaymentMethod::Tarjeta { "tarjeta" } else { "efectivo" },
                        )}
                    </p>
                })}
            </section>
            {move || found.get().map(|f| view! { <form::ReturnForm found=f state=state till=till.clone() /> })}
        </div>
        <slip::SlipDialog state=state />
    }
}
