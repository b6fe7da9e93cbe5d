//! A manager's approval PIN (Home): set or change it, confirming with the password. The tills
//! of the store learn of it the next time they fetch the discount policy.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::api::approval::{validate_pin, PinInput};
use uuid::Uuid;

use crate::{api, policy};

#[component]
pub fn PinCard(store: Uuid) -> impl IntoView {
    let pin = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = PinInput {
            pin: pin.get_untracked(),
            contrasena: password.get_untracked(),
        };
        if let Err(err) = validate_pin(&body.pin) {
            message.set(Some((false, err.to_string())));
            return;
        }
        spawn_local(async move {
            match api::put_empty("/api/auth/pin", &body).await {
                Ok(()) => {
                    policy::refresh(store).await;
                    pin.set(String::new());
                    password.set(String::new());
                    message.set(Some((true, "PIN de autorización guardado.".into())));
                }
                Err(err) => message.set(Some((false, err.message()))),
            }
        });
    };

    view! {
        <section class="card" data-testid="pin-card">
            <h2>"PIN de autorización"</h2>
            <p class="muted">"Autoriza en caja los descuentos mayores al límite de la tienda, también sin conexión."</p>
            <form class="form" on:submit=save>
                <label class="field">
                    <span class="field__label">"PIN (4 a 8 dígitos)"</span>
                    <input class="field__input" type="password" inputmode="numeric" autocomplete="off"
                        data-testid="pin-new" prop:value=move || pin.get()
                        on:input=move |ev| pin.set(event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span class="field__label">"Tu contraseña"</span>
                    <input class="field__input" type="password" autocomplete="current-password"
                        data-testid="pin-password" prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                <button class="button button--primary" type="submit" data-testid="pin-save">"Guardar PIN"</button>
                {move || message.get().map(|(ok, text)| view! {
                    <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } role="status" data-testid="pin-message">{text}</p>
                })}
            </form>
        </section>
    }
}
