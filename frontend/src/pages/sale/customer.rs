//! The sale's customer: found in the device's cache by name or phone, or created at the till
//! (a `clientes.Cliente` create queued before the sale that names her).

use leptos::{ev, prelude::*, task::spawn_local};
use pronto_shared::{
    api::customers::{Customer, CustomerInput},
    domain::FieldErrors,
    sync::{config, engine::LocalChange, OpKind},
};
use uuid::Uuid;

use super::SaleState;
use crate::{device::ThisDevice, session::Session, sync_service::Sync};

/// Validates the new customer and queues its create; on success she is the sale's customer.
fn save_new(sync: &Sync, (device, session): (ThisDevice, Session), state: SaleState) {
    let SaleState {
        customer,
        creating_customer,
        new_name,
        new_phone,
        customer_errors,
        ..
    } = state;
    let (Some(device), Some(profile)) =
        (device.device.get_untracked(), session.profile_untracked())
    else {
        return;
    };
    let phone = new_phone.get_untracked();
    let input = CustomerInput {
        id: None,
        nombre: new_name.get_untracked(),
        telefono: (!phone.trim().is_empty()).then_some(phone),
        email: None,
        rfc: None,
        notas: None,
        version: None,
    };
    let valid = match input.validate() {
        Ok(valid) => valid,
        Err(errors) => {
            customer_errors.set(errors);
            return;
        }
    };
    customer_errors.set(FieldErrors::new());
    let id = Uuid::now_v7();
    let phone = valid.phone.as_ref().map(|p| p.as_str().to_owned());
    let mut fields = serde_json::json!({ "nombre": valid.name });
    if let Some(phone) = &phone {
        fields["telefono"] = phone.clone().into();
    }
    let Some(change) = LocalChange::of(config::CLIENTE, id, OpKind::Create, None, &fields) else {
        return;
    };
    let sync = sync.clone();
    spawn_local(async move {
        match sync.record(change, &device, &profile).await {
            Ok(_) => {
                customer.set(Some(valid.record(id, 0, 0)));
                creating_customer.set(false);
                new_name.set(String::new());
                new_phone.set(String::new());
            }
            Err(err) => customer_errors.update(|e| {
                e.add(
                    "nombre",
                    format!("No se pudo guardar en el dispositivo: {err}"),
                )
            }),
        }
    });
}

#[component]
pub(super) fn CustomerPicker(state: SaleState) -> impl IntoView {
    let sync = expect_context::<Sync>();
    let who = (expect_context::<ThisDevice>(), expect_context::<Session>());
    let SaleState {
        customer,
        customer_query,
        customer_results,
        creating_customer,
        new_name,
        ..
    } = state;
    let sync_search = sync.clone();
    let on_customer_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        customer_query.set(text.clone());
        let Some(store) = sync_search.store() else {
            return;
        };
        spawn_local(async move {
            let found: Vec<Customer> = if text.trim().chars().count() < 2 {
                Vec::new()
            } else {
                store
                    .search_customers(&text, 8)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok())
                    .collect()
            };
            if customer_query.get_untracked() == text {
                customer_results.set(found);
            }
        });
    };
    let save = move || save_new(&sync, who, state);
    view! {
        <div class="customer" data-testid="sale-customer">
            {move || match customer.get() {
                Some(c) => view! {
                    <p class="customer__chosen">
                        <span>{format!("Cliente: {}", c.nombre)}</span>
                        <button class="button--ghost-dark" type="button" on:click=move |_| customer.set(None)>"Quitar"</button>
                    </p>
                }.into_any(),
                None => { let save = save.clone(); view! {
                    <label class="field">
                        <span class="field__label">"Cliente"</span>
                        <input class="field__input" autocomplete="off" placeholder="Nombre o teléfono (opcional)"
                            data-testid="customer-search"
                            prop:value=move || customer_query.get()
                            on:input=on_customer_input.clone() />
                    </label>
                    {move || if creating_customer.get() {
                        view! { <NewCustomer state=state save=save.clone() /> }.into_any()
                    } else {
                        view! {
                            <button class="button" type="button" data-testid="create-customer"
                                on:click=move |_| {
                                    creating_customer.set(true);
                                    new_name.set(customer_query.get_untracked());
                                }>
                                "Nuevo cliente"
                            </button>
                        }.into_any()
                    }}
                    <ul class="customer__results">
                        {move || customer_results.get().into_iter().map(|c| {
                            let chosen = c.clone();
                            view! {
                                <li>
                                    <button class="result" type="button" data-testid="customer-result" data-customer=c.id.to_string()
                                        on:click=move |_| { customer.set(Some(chosen.clone())); customer_results.set(Vec::new()); }>
                                        <span class="result__name">{c.nombre.clone()}</span>
                                        <span class="result__meta">{c.telefono.clone().unwrap_or_default()}</span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any() },
            }}
        </div>
    }
}

/// A customer created at the till: name and, if she gives it, phone.
#[component]
fn NewCustomer(state: SaleState, save: impl Fn() + 'static) -> impl IntoView {
    let SaleState {
        creating_customer,
        new_name,
        new_phone,
        customer_errors,
        ..
    } = state;
    let error = move |field: &'static str| {
        move || customer_errors.with(|e| e.get(field).map(str::to_owned))
    };
    view! {
        <div class="customer__new" data-testid="new-customer">
            <label class="field">
                <span class="field__label">"Nombre del cliente"</span>
                <input class="field__input" autocomplete="off" data-testid="new-customer-name"
                    aria-invalid=move || error("nombre")().is_some().to_string()
                    prop:value=move || new_name.get()
                    on:input=move |ev| new_name.set(event_target_value(&ev)) />
                {move || error("nombre")().map(|m| view! {
                    <span class="field__error" role="alert">{m}</span>
                })}
            </label>
            <label class="field">
                <span class="field__label">"Teléfono (opcional)"</span>
                <input class="field__input" inputmode="tel" autocomplete="off" data-testid="new-customer-phone"
                    aria-invalid=move || error("telefono")().is_some().to_string()
                    prop:value=move || new_phone.get()
                    on:input=move |ev| new_phone.set(event_target_value(&ev)) />
                {move || error("telefono")().map(|m| view! {
                    <span class="field__error" role="alert">{m}</span>
                })}
            </label>
            <div class="customer__actions">
                <button class="button button--primary" type="button" data-testid="save-customer"
                    on:click=move |_| save()>"Guardar cliente"</button>
                <button class="button" type="button"
                    on:click=move |_| { creating_customer.set(false); customer_errors.set(FieldErrors::new()); }>
                    "Cancelar"
                </button>
            </div>
        </div>
    }
}
