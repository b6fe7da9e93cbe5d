//! Sign-in screen: user name, password, one big button.

use leptos::{html, prelude::*, task::spawn_local};

use crate::{session::Session, shell};

#[component]
pub fn Login() -> impl IntoView {
    let session = expect_context::<Session>();
    // Typed into the plain screen while the app was downloading (`shell`), if anything.
    let typed = shell::take_typed();
    let usuario = RwSignal::new(typed.usuario);
    let contrasena = RwSignal::new(typed.contrasena);
    let (usuario_input, contrasena_input) =
        (NodeRef::<html::Input>::new(), NodeRef::<html::Input>::new());
    let focused = typed.focused;
    Effect::new(move |_| {
        let field = match focused.as_deref() {
            Some("usuario") => usuario_input.get(),
            Some("contrasena") => contrasena_input.get(),
            _ => None,
        };
        if let Some(input) = field {
            let _ = input.focus();
        }
    });
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let (user, password) = (usuario.get_untracked(), contrasena.get_untracked());
        if user.trim().is_empty() || password.is_empty() {
            error.set(Some("Escribe tu usuario y tu contraseña.".into()));
            return;
        }
        pending.set(true);
        error.set(None);
        spawn_local(async move {
            if let Err(err) = session.sign_in(user, password).await {
                error.set(Some(err.message()));
                contrasena.set(String::new());
            }
            pending.set(false);
        });
    };

    view! {
        <section class="card login">
            <h1>"Iniciar sesión"</h1>
            <p class="lead">"Entra con el usuario que te dio tu gerente."</p>
            <form class="form" on:submit=submit novalidate>
                <label class="field">
                    <span>"Usuario"</span>
                    <input
                        node_ref=usuario_input
                        name="usuario"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        prop:value=move || usuario.get()
                        on:input=move |ev| usuario.set(event_target_value(&ev))
                    />
                </label>
                <label class="field">
                    <span>"Contraseña"</span>
                    <input
                        node_ref=contrasena_input
                        name="contrasena"
                        type="password"
                        autocomplete="current-password"
                        required
                        prop:value=move || contrasena.get()
                        on:input=move |ev| contrasena.set(event_target_value(&ev))
                    />
                </label>
                <Show when=move || error.get().is_some()>
                    <p class="form__error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <button class="button button--primary button--block" type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Entrando…" } else { "Entrar" }}
                </button>
            </form>
        </section>
    }
}
