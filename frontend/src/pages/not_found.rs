//! Any path the router does not know.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Página no encontrada"</h1>
            <p>"La dirección que abriste no existe en Pronto POS."</p>
            <a class="button button--primary" href="/">"Ir al inicio"</a>
        </section>
    }
}
