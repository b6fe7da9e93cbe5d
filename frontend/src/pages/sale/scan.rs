//! Where a scanned code goes. The scanner service ([`crate::scanner`]) hands over every code,
//! whatever had focus; here it becomes a line of the sale — or waits, shown, while the receipt
//! or the manager's approval is on screen, so a scan never lands in a sale the cashier cannot
//! see. A code the catalog does not know is said next to the search box, and the box is left
//! empty for the next scan.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::api::products::Product;

use super::SaleState;
use crate::{storage, sync_service::Sync};

/// Where the cashier's choice "a scan on the receipt starts the next sale" is kept.
const SCAN_CLOSES_RECEIPT: &str = "pronto.venta.escaneo_cierra_ticket";

pub(super) fn scan_closes_receipt() -> bool {
    storage::get(SCAN_CLOSES_RECEIPT).as_deref() == Some("1")
}

pub(super) fn set_scan_closes_receipt(on: bool) {
    storage::set(SCAN_CLOSES_RECEIPT, if on { "1" } else { "0" });
}

/// A code read by the scanner.
pub(super) fn route(state: SaleState, sync: Sync, code: String) {
    if state.grid.get_untracked().is_some() {
        // The cashier moved on from picking a size: the scanned pair is the one she wants.
        state.grid.set(None);
    }
    if state.receipt.get_untracked().is_some() && state.scan_closes_receipt.get_untracked() {
        state.receipt.set(None);
    }
    if state.receipt.get_untracked().is_some() || state.approving.get_untracked().is_some() {
        state.waiting.update(|codes| codes.push(code));
        return;
    }
    add_code(state, sync, code);
}

/// Scans that waited for a dialog, once no dialog holds them back.
pub(super) fn release_waiting(state: SaleState, sync: Sync) {
    Effect::new(move |_| {
        let blocked = state.receipt.with(Option::is_some) || state.approving.with(Option::is_some);
        if blocked || state.waiting.with(Vec::is_empty) {
            return;
        }
        for code in state.waiting.try_update(std::mem::take).unwrap_or_default() {
            add_code(state, sync.clone(), code);
        }
    });
}

/// Looks the code up in the device's catalog and adds its pair, or says it is unknown.
pub(super) fn add_code(state: SaleState, sync: Sync, code: String) {
    state.query.set(String::new());
    state.results.set(Vec::new());
    spawn_local(async move {
        let Some(store) = sync.opened_store().await else {
            state.scan_problem.set(Some(
                "El almacenamiento del dispositivo no abrió: recarga la página.".into(),
            ));
            return;
        };
        match store.product_by_barcode(&code).await {
            Ok(Some(value)) => match serde_json::from_value::<Product>(value) {
                Ok(product) => state.add(product),
                Err(_) => state
                    .scan_problem
                    .set(Some(format!("El código {code} no se pudo leer."))),
            },
            _ => state.scan_problem.set(Some(format!(
                "No hay ningún producto con el código {code}."
            ))),
        }
    });
}

/// The scans held while a dialog is open, said inside it so the cashier knows they are safe.
#[component]
pub(super) fn Waiting(state: SaleState) -> impl IntoView {
    move || {
        let n = state.waiting.with(Vec::len);
        (n > 0).then(|| {
            let text = match n {
                1 => "1 producto escaneado en espera: se agregará a la venta al cerrar.".to_owned(),
                n => format!("{n} productos escaneados en espera: se agregarán a la venta al cerrar."),
            };
            view! { <p class="notice notice--wait" role="status" data-testid="scans-waiting">{text}</p> }
        })
    }
}
