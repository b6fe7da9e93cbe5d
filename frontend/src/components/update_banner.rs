//! Offers a new release once its service worker is installed and waiting.
//!
//! The new version is never swapped in under a running page (which would mix old and new
//! files): the cashier chooses the moment, typically between two sales.

use leptos::prelude::*;

use crate::pwa::Pwa;

#[component]
pub fn UpdateBanner(pwa: Pwa) -> impl IntoView {
    view! {
        <Show when=move || pwa.update_ready.get()>
            <div class="banner" role="alert">
                <span>"Hay una nueva versión de Pronto POS."</span>
                <button class="button button--primary" on:click=move |_| pwa.apply_update()>
                    "Actualizar ahora"
                </button>
            </div>
        </Show>
    }
}
