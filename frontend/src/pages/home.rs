//! The start screen: tells the cashier whether the device is ready to sell, online or not.

use leptos::prelude::*;
use pronto_shared::Action;

use crate::{
    components::{device_card::DeviceCard, pin_card::PinCard},
    connection::Connection,
    pwa::Pwa,
    session::Session,
    storage_space::StorageInfo,
    sync_service::SyncStatus,
};

fn megabytes(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

/// What the browser promised about this device's data.
fn storage_text(info: Option<StorageInfo>) -> String {
    match info {
        None => "Revisando el almacenamiento del dispositivo…".into(),
        Some(info) => format!(
            "{} Usado {} de {} disponibles.",
            if info.persisted {
                "El navegador protege los datos de este dispositivo (no los borrará por falta de espacio)."
            } else {
                "El navegador no garantizó conservar los datos de este dispositivo; instala la aplicación para protegerlos."
            },
            megabytes(info.usage_bytes),
            megabytes(info.quota_bytes)
        ),
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let connection = expect_context::<Connection>();
    let pwa = expect_context::<Pwa>();
    let session = expect_context::<Session>();
    let status = expect_context::<SyncStatus>();
    let sync_text = move || {
        if connection.state.get().can_sync() {
            "Las ventas se envían al servidor al momento."
        } else {
            "Puedes seguir vendiendo: las ventas se guardan en este dispositivo y se envían al volver la conexión."
        }
    };
    let offline_text = move || {
        if pwa.offline_ready.get() {
            "Esta aplicación ya abre sin internet en este dispositivo."
        } else {
            "Preparando la aplicación para usarse sin internet…"
        }
    };

    // A memo, so that the session re-confirming the same profile does not rebuild the card
    // (and wipe what the manager is typing).
    let shown_profile = Memo::new(move |_| session.profile());
    let approver_store = Memo::new(move |_| {
        session
            .profile()
            .filter(|p| {
                p.principal()
                    .can(pronto_shared::Action::ApproveDiscount(p.tienda.id))
            })
            .map(|p| p.tienda.id)
    });
    view! {
        <section class="card">
            <h1>"Bienvenido a Pronto POS"</h1>
            <p class="lead">"Punto de venta de Pronto Zapaterías."</p>
            <ul class="checklist">
                <li data-testid="sync-status">{sync_text}</li>
                <li data-testid="offline-ready" data-ready=move || pwa.offline_ready.get().to_string()>
                    {offline_text}
                </li>
                <li
                    data-testid="storage-status"
                    data-persisted=move || status.storage.get().is_some_and(|s| s.persisted).to_string()
                >
                    {move || storage_text(status.storage.get())}
                </li>
            </ul>
            <div class="home-actions">
                <a class="button button--primary" href="/venta" data-testid="go-sell">"Vender"</a>
                <a class="button button--secondary" href="/devolucion" data-testid="go-return">"Devolución"</a>
                <a class="button button--secondary" href="/clientes" data-testid="go-customers">"Clientes"</a>
                {move || session.profile().is_some_and(|p| p.principal().can(Action::AdjustStock(p.tienda.id))).then(|| view! {
                    <a class="button button--secondary" href="/inventario" data-testid="go-stock">"Inventario"</a>
                    <a class="button button--secondary" href="/catalogo" data-testid="go-catalog">"Catálogo"</a>
                    <a class="button button--secondary" href="/sincronizacion/dashboard/" data-testid="go-dashboard">"Sincronización"</a>
                })}
            </div>
        </section>
        {move || shown_profile.get().map(|profile| view! { <DeviceCard profile=profile /> })}
        {move || approver_store.get().map(|store| view! { <PinCard store=store /> })}
    }
}
