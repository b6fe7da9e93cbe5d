//! The signed-in person in the header: name, role and store, and the way out.

use leptos::prelude::*;
use pronto_shared::api::auth::Profile;

use crate::session::Session;

#[component]
pub fn UserBadge(profile: Profile) -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <div class="user">
            <div class="user__text">
                <span class="user__name" data-testid="user-name">{profile.nombre.clone()}</span>
                <span class="user__meta">
                    <span data-testid="user-role">{profile.rol.label()}</span>
                    " · "
                    <span data-testid="user-store">{profile.tienda.nombre.clone()}</span>
                </span>
            </div>
            <button class="button button--ghost" type="button" on:click=move |_| session.sign_out()>
                "Salir"
            </button>
        </div>
    }
}
