//! Whether this browser is a registered device of the signed-in person's store, and — for a
//! manager or admin — the way to register it.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{api::auth::Profile, Action};

use crate::{device::ThisDevice, keyring::Keyring};

#[component]
pub fn DeviceCard(profile: Profile) -> impl IntoView {
    let this = expect_context::<ThisDevice>();
    let keyring = expect_context::<Keyring>();
    let me = StoredValue::new(profile.clone());
    let can_register = profile
        .principal()
        .can(Action::ManageDevices(profile.tienda.id));
    let store = profile.tienda.clone();
    let name = RwSignal::new(String::from("Caja 1"));
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let register = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        error.set(None);
        let me = me.get_value();
        spawn_local(async move {
            match this.register(name.get_untracked()).await {
                // The person who registered it signs here from now on: their key for it.
                Ok(device) => {
                    if let Err(message) = keyring.device_registered(&me, &device).await {
                        error.set(Some(message));
                    }
                }
                Err(err) => error.set(Some(err.message())),
            }
            pending.set(false);
        });
    };

    view! {
        <section class="card device" data-testid="device-card">
            <h2>"Este dispositivo"</h2>
            {move || match this.device.get() {
                Some(device) if device.tienda_id == store.id => {
                    view! {
                        <p data-testid="device-status">
                            {format!("Registrado como {} ({}) en {}.", device.nombre, device.codigo, store.nombre)}
                        </p>
                    }
                        .into_any()
                }
                Some(device) => {
                    view! {
                        <p class="form__error" role="alert">
                            {format!(
                                "Este dispositivo ({}) pertenece a otra tienda. Lo que se registre aquí será rechazado.",
                                device.nombre,
                            )}
                        </p>
                    }
                        .into_any()
                }
                None if can_register => {
                    view! {
                        <form class="form form--inline" on:submit=register>
                            <label class="field">
                                <span>"Nombre del dispositivo"</span>
                                <input
                                    name="dispositivo"
                                    type="text"
                                    maxlength="60"
                                    prop:value=move || name.get()
                                    on:input=move |ev| name.set(event_target_value(&ev))
                                />
                            </label>
                            <button class="button button--primary" type="submit" disabled=move || pending.get()>
                                "Registrar en esta tienda"
                            </button>
                            <Show when=move || error.get().is_some()>
                                <p class="form__error" role="alert">{move || error.get().unwrap_or_default()}</p>
                            </Show>
                        </form>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <p data-testid="device-status">
                            "Este dispositivo aún no está registrado. Pide a tu gerente que lo registre."
                        </p>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
