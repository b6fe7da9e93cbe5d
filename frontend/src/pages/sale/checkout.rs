//! Charging: the cart and payment checked by the shared sale rule, a manager's approval when
//! the discounts pass the store's limit, and the sale recorded in the outbox.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        approval::{self, Approval},
        sales::{folio, PaymentInput, PaymentMethod, SaleInput, SaleLineInput, ValidSale},
    },
    domain::FieldErrors,
    sync::{config, engine::LocalChange, OpKind},
};
use uuid::Uuid;

use super::{
    model::{discount_of, typed, Approving, Notice, Pay, Receipt},
    payment::{CARD, CASH},
    SaleState,
};
use crate::{device::ThisDevice, policy, session::Session, sync_service::Sync};
use pronto_shared::domain::money::mxn as money;

/// Who records: the sync service, this device and the signed-in person.
#[derive(Clone)]
pub(super) struct Recorder {
    sync: Sync,
    device: ThisDevice,
    session: Session,
}

impl Recorder {
    pub(super) fn from_context() -> Self {
        Self {
            sync: expect_context::<Sync>(),
            device: expect_context::<ThisDevice>(),
            session: expect_context::<Session>(),
        }
    }

    /// Queues the sale; on success the receipt shows and the screen starts a new sale.
    pub(super) fn record(
        &self,
        state: SaleState,
        input: SaleInput,
        valid: ValidSale,
        payments: Vec<(PaymentMethod, i64)>,
    ) {
        let (Some(device), Some(profile)) = (
            self.device.device.get_untracked(),
            self.session.profile_untracked(),
        ) else {
            return;
        };
        let Some(change) = LocalChange::of(config::VENTA, input.id, OpKind::Sale, None, &input)
        else {
            return;
        };
        state.saving.set(true);
        // A problem of an earlier try is not this one's answer.
        state.notice.set(None);
        let sync = self.sync.clone();
        spawn_local(async move {
            match sync.record(change, &device, &profile).await {
                Ok(op) => {
                    state.notice.set(Some(Notice::Saved(format!(
                        "Venta guardada: {} · cambio {}",
                        money(valid.total.centavos()),
                        money(valid.change.centavos())
                    ))));
                    state.receipt.set(Some(Receipt {
                        folio: folio(&profile.tienda.codigo, &device.codigo, op.body.seq),
                        store: profile.tienda.nombre.clone(),
                        cashier: profile.nombre.clone(),
                        at: crate::local_time::now(),
                        lines: state.cart.get_untracked(),
                        discount: valid.discount.centavos(),
                        total: valid.total.centavos(),
                        payments,
                        customer: state.customer.get_untracked().map(|c| c.nombre),
                        change: valid.change.centavos(),
                    }));
                    state.clear();
                }
                Err(err) => state.notice.set(Some(Notice::Problem(format!(
                    "No se pudo guardar la venta en el dispositivo: {err}"
                )))),
            }
            state.saving.set(false);
            state.focus_search();
        });
    }
}

fn field_error(state: SaleState, field: &str, message: impl std::fmt::Display) {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    state.field_errors.set(errors);
}

/// The payments as typed, or `None` after an unreadable amount was shown at its field.
fn payments(state: SaleState, total: i64) -> Option<Vec<(PaymentMethod, i64)>> {
    let bad = |field: &str, what: &str| {
        field_error(
            state,
            field,
            format!("Escribe {what} como 1500 o 1,500.00."),
        );
        None
    };
    let received = state.received.get_untracked();
    match state.method.get_untracked() {
        Pay::Card => Some(vec![(PaymentMethod::Tarjeta, total)]),
        Pay::Cash => match typed(&received, total) {
            Ok(cash) => Some(vec![(PaymentMethod::Efectivo, cash)]),
            Err(()) => bad(CASH, "el efectivo recibido"),
        },
        Pay::Mixed => {
            let Ok(card) = typed(&state.card_amount.get_untracked(), 0) else {
                return bad(CARD, "el importe con tarjeta");
            };
            let Ok(cash) = typed(&received, total - card) else {
                return bad(CASH, "el efectivo recibido");
            };
            Some(vec![
                (PaymentMethod::Tarjeta, card),
                (PaymentMethod::Efectivo, cash),
            ])
        }
    }
}

/// The sale as the cart, the discount and the payments say, before the shared rule checks it;
/// `None` after a discount that is not a percentage was shown at its field.
fn sale_input(state: SaleState) -> Option<(SaleInput, Vec<(PaymentMethod, i64)>)> {
    let mut line_errors = FieldErrors::new();
    for (i, line) in state.cart.get_untracked().iter().enumerate() {
        if let Err(message) = discount_of(&line.discount, line.gross()) {
            line_errors.add(format!("lineas[{i}].descuento"), message);
        }
    }
    if !line_errors.is_empty() {
        state.field_errors.set(line_errors);
        return None;
    }
    let subtotal = state.subtotal();
    let descuento = match discount_of(&state.discount_text.get_untracked(), subtotal) {
        Ok(d) => d,
        Err(message) => {
            field_error(state, "descuento", message);
            return None;
        }
    };
    let payments = payments(state, subtotal - descuento)?;
    let lineas = state.cart.with_untracked(|lines| {
        lines
            .iter()
            .map(|l| SaleLineInput {
                producto_id: l.product.id,
                cantidad: l.quantity,
                precio_unitario: l.product.precio,
                descuento: l.discount(),
            })
            .collect()
    });
    let pagos = payments
        .iter()
        .map(|(metodo, monto)| PaymentInput {
            metodo: *metodo,
            monto: *monto,
        })
        .collect();
    let input = SaleInput {
        id: Uuid::now_v7(),
        lineas,
        pagos,
        cliente_id: state.customer.get_untracked().map(|c| c.id),
        descuento,
        autorizacion: None,
    };
    Some((input, payments))
}

/// The shared rule's errors keyed by the field the cashier sees: a payment's problem goes to the
/// card amount or the cash received, whichever it is about.
fn at_fields(errors: &FieldErrors, payments: &[(PaymentMethod, i64)], method: Pay) -> FieldErrors {
    let field_of = |m: PaymentMethod| match m {
        PaymentMethod::Tarjeta => CARD,
        PaymentMethod::Efectivo => CASH,
    };
    let mut shown = FieldErrors::new();
    for (field, message) in errors.iter() {
        let at = match field.strip_prefix("pagos") {
            None => field,
            Some("") if method == Pay::Card => CARD,
            // Too much by card is the card's problem; too little paid is the cash's to cover.
            Some("") if message.contains("tarjeta") => CARD,
            Some("") => CASH,
            Some(index) => index
                .trim_start_matches('[')
                .split(']')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| payments.get(i))
                .map_or(CASH, |(m, _)| field_of(*m)),
        };
        shown.add(at, message);
    }
    shown
}

/// What "Cobrar" does: check, then record, or first ask a manager to approve the discounts.
pub(super) fn charger(state: SaleState) -> impl Fn() + Clone + 'static {
    let recorder = Recorder::from_context();
    move || {
        if state.saving.get_untracked() {
            return;
        }
        let (Some(_), Some(profile)) = (
            recorder.device.device.get_untracked(),
            recorder.session.profile_untracked(),
        ) else {
            state.notice.set(Some(Notice::Problem(
                "Registra este dispositivo en su tienda antes de vender.".into(),
            )));
            return;
        };
        let Some((input, payments)) = sale_input(state) else {
            return;
        };
        let valid = match input.validate() {
            Ok(valid) => valid,
            Err(errors) => {
                let errors = at_fields(&errors, &payments, state.method.get_untracked());
                // What has no field of its own on screen is said under Cobrar, in words only.
                let elsewhere: Vec<&str> = errors
                    .iter()
                    .filter(|(f, _)| {
                        ![CARD, CASH, "descuento"].contains(f) && !f.ends_with(".descuento")
                    })
                    .map(|(_, m)| m)
                    .collect();
                if !elsewhere.is_empty() {
                    state.notice.set(Some(Notice::Problem(elsewhere.join(" "))));
                }
                state.field_errors.set(errors);
                return;
            }
        };
        state.field_errors.set(FieldErrors::new());
        let rule = policy::stored(profile.tienda.id);
        if approval::needs_approval(&valid, rule.descuento_sin_autorizacion) {
            state.approver.set(rule.autorizadores.first().map(|a| a.id));
            state.approval_pin.set(String::new());
            state.approval_error.set(None);
            state.approving.set(Some(Approving {
                input,
                valid,
                payments,
                rule,
            }));
            return;
        }
        recorder.record(state, input, valid, payments);
    }
}

/// The manager types their PIN on this till: the key it unlocks signs this sale's discount.
pub(super) fn approver(state: SaleState) -> impl Fn() + Clone + 'static {
    let recorder = Recorder::from_context();
    move || {
        let Some(mut pending) = state.approving.get_untracked() else {
            return;
        };
        let chosen = state.approver.get_untracked();
        let Some(manager) = pending
            .rule
            .autorizadores
            .iter()
            .find(|a| Some(a.id) == chosen)
        else {
            state
                .approval_error
                .set(Some("Elige quién autoriza.".into()));
            return;
        };
        let Some(key) = manager.unlock(state.approval_pin.get_untracked().trim()) else {
            state.approval_error.set(Some("PIN incorrecto.".into()));
            return;
        };
        let discount = approval::discount_of(&pending.valid);
        pending.input.autorizacion = Some(Approval {
            gerente_id: manager.id,
            firma: approval::sign(&key, pending.input.id, manager.id, discount),
        });
        state.approving.set(None);
        recorder.record(state, pending.input, pending.valid, pending.payments);
    }
}
