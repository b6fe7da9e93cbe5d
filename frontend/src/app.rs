//! The router and the shell around every page: a header with the brand and the connection
//! indicator (always visible, so a cashier knows at a glance whether sales are going through),
//! the update banner, and the page itself.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::{connection_indicator::ConnectionIndicator, update_banner::UpdateBanner},
    connection::Connection,
    pages::{home::Home, not_found::NotFound},
    pwa::Pwa,
};

#[component]
pub fn App() -> impl IntoView {
    let connection = Connection::start();
    provide_context(connection);
    let pwa = Pwa::start();
    provide_context(pwa);

    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Pronto POS"</a>
                <ConnectionIndicator state=connection.state />
            </header>
            <UpdateBanner pwa=pwa />
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}
