//! The pill in the header that says whether the device reaches the server.

use leptos::prelude::*;
use pronto_shared::ConnectionState;

/// Shows `state` as a coloured dot and a Spanish label. `role="status"` makes screen readers
/// announce changes without stealing focus.
#[component]
pub fn ConnectionIndicator(#[prop(into)] state: Signal<ConnectionState>) -> impl IntoView {
    view! {
        <div
            class=move || format!("connection connection--{}", state.get().as_str())
            data-state=move || state.get().as_str()
            role="status"
            aria-live="polite"
        >
            <span class="connection__dot" aria-hidden="true"></span>
            <span class="connection__label">{move || state.get().label()}</span>
        </div>
    }
}
