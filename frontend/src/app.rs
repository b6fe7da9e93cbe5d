//! The router and the shell around every page: a header with the brand, the signed-in person
//! and the connection indicator (always visible, so a cashier knows at a glance whether sales
//! are going through), the update banner, and the page itself — or the sign-in screen.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::{
        connection_indicator::ConnectionIndicator, sync_bar::SyncBar, update_banner::UpdateBanner,
        user_badge::UserBadge,
    },
    connection::Connection,
    device::ThisDevice,
    keyring::Keyring,
    pages::{
        audit_queue::{Audit, Queue},
        catalog::Catalog,
        conflicts::Conflicts,
        customers::Customers,
        dashboard::Dashboard,
        home::Home,
        login::Login,
        not_found::NotFound,
        returns::Returns,
        sale::Sale,
        stock::Stock,
        sync_config::SyncConfig,
    },
    pwa::Pwa,
    screen_change::ScreenChange,
    session::{Session, SessionState},
    sync_service::Sync,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    SignedOut,
    SignedIn,
}

#[component]
pub fn App() -> impl IntoView {
    let connection = Connection::start();
    provide_context(connection);
    let pwa = Pwa::start();
    provide_context(pwa);
    let device = ThisDevice::load();
    provide_context(device);
    let keyring = Keyring::start();
    provide_context(keyring);
    let session = Session::start(keyring, device);
    provide_context(session);
    let sync = Sync::start(connection, device, session);
    provide_context(sync.status);
    provide_context(sync);

    // Every time on screen is on the signed-in store's clock.
    Effect::new(move |_| {
        if let Some(profile) = session.profile() {
            crate::local_time::set_zone(&profile.tienda.zona_horaria);
        }
    });

    // Only a change of gate re-renders the page; a re-confirmed profile does not.
    // Without a cached profile the sign-in form shows while the server is asked: it is what
    // `index.html` painted before the app arrived, and what almost every such device needs.
    // A session the server still knows moves on to the home screen when it answers.
    let gate = Memo::new(move |_| match session.state.get() {
        SessionState::Checking | SessionState::SignedOut => Gate::SignedOut,
        SessionState::SignedIn(_) => Gate::SignedIn,
    });

    view! {
        <Router>
            <ScreenChange />
            <div class="chrome">
            <header class="topbar">
                <a class="brand" href="/">"Pronto POS"</a>
                <div class="topbar__right">
                    {move || session.profile().map(|profile| view! { <UserBadge profile=profile /> })}
                    <ConnectionIndicator state=connection.state />
                </div>
            </header>
            <SyncBar />
            <UpdateBanner pwa=pwa />
            </div>
            <main class="page">
                {move || match gate.get() {
                    Gate::SignedOut => view! { <Login /> }.into_any(),
                    Gate::SignedIn => {
                        view! {
                            <Routes fallback=NotFound>
                                <Route path=path!("/") view=Home />
                                <Route path=path!("/venta") view=Sale />
                                <Route path=path!("/inventario") view=Stock />
                                <Route path=path!("/devolucion") view=Returns />
                                <Route path=path!("/clientes") view=Customers />
                                <Route path=path!("/catalogo") view=Catalog />
                                <Route path=path!("/sincronizacion/dashboard") view=Dashboard />
                                <Route path=path!("/sincronizacion/conflictos") view=Conflicts />
                                <Route path=path!("/sincronizacion/configuracion") view=SyncConfig />
                                <Route path=path!("/sincronizacion/auditoria") view=Audit />
                                <Route path=path!("/sincronizacion/cola") view=Queue />
                            </Routes>
                        }
                            .into_any()
                    }
                }}
            </main>
        </Router>
    }
}
