//! The sync configuration (`/sincronizacion/configuracion`, admins): per model, the conflict
//! strategy, the critical flag, the push priority and the fields that never travel. Saved
//! through `/api/sincronizacion/configuracion/`, checked by the shared `ModelConfig::validate`
//! first; the server applies it from the next op on.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    sync::{ModelConfig, Strategy},
    Action,
};

use crate::{api, session::Session};

fn strategy_label(s: Strategy) -> &'static str {
    match s {
        Strategy::UltimaModificacion => "Última modificación (gana la hora más reciente)",
        Strategy::PrioridadCentral => "Prioridad central (gana el servidor)",
        Strategy::PrioridadTienda => "Prioridad tienda (gana el dispositivo)",
        Strategy::Manual => "Manual (lo resuelve el gerente)",
    }
}

fn strategy_key(s: Strategy) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[component]
pub fn SyncConfig() -> impl IntoView {
    let session = expect_context::<Session>();
    let configs: RwSignal<Vec<ModelConfig>> = RwSignal::new(Vec::new());
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);
    let admin = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::ConfigureSync))
    };
    spawn_local(async move {
        match api::get::<Vec<ModelConfig>>("/api/sincronizacion/configuracion/").await {
            Ok(list) => configs.set(list),
            Err(e) => message.set(Some((false, e.message()))),
        }
    });

    let save = move |index: usize| {
        let Some(config) = configs.with_untracked(|c| c.get(index).cloned()) else {
            return;
        };
        if let Err(e) = config.validate() {
            message.set(Some((false, e.to_string())));
            return;
        }
        spawn_local(async move {
            match api::put::<_, ModelConfig>("/api/sincronizacion/configuracion/", &config).await {
                Ok(saved) => message.set(Some((true, format!("{}: guardado.", saved.model)))),
                Err(e) => message.set(Some((false, e.message()))),
            }
        });
    };

    view! {
        <section class="card dashboard" data-testid="sync-config">
            <h1>"Configuración de sincronización"</h1>
            {move || (!admin()).then(|| view! { <p class="muted">"Solo el administrador cambia la configuración."</p> })}
            {move || message.get().map(|(ok, text)| view! {
                <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } role="status" data-testid="config-message">{text}</p>
            })}
            <ul class="conflicts">
                {move || configs.get().into_iter().enumerate().map(|(i, c)| {
                    let current = strategy_key(c.estrategia);
                    view! {
                        <li class="card customer-form" data-testid="config-row" data-model=c.model.clone()>
                            <h2>{c.model.clone()}</h2>
                            <label class="field">
                                <span class="field__label">"Estrategia de conflictos"</span>
                                <select class="field__input" data-testid="config-strategy" disabled=move || !admin()
                                    on:change=move |ev| {
                                        let value = event_target_value(&ev);
                                        if let Ok(s) = serde_json::from_value::<Strategy>(value.into()) {
                                            configs.update(|all| if let Some(c) = all.get_mut(i) { c.estrategia = s });
                                        }
                                    }>
                                    {Strategy::ALL.into_iter().map(|s| {
                                        let key = strategy_key(s);
                                        view! { <option value=key.clone() selected=key == current>{strategy_label(s)}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                            <label class="field field--check">
                                <input type="checkbox" prop:checked=c.critico disabled=move || !admin()
                                    on:change=move |ev| { let v = event_target_checked(&ev); configs.update(|all| if let Some(c) = all.get_mut(i) { c.critico = v }); } />
                                <span>"Crítico (se envía primero)"</span>
                            </label>
                            <label class="field">
                                <span class="field__label">"Prioridad (0–1000)"</span>
                                <input class="field__input" inputmode="numeric" prop:value=c.prioridad.to_string() disabled=move || !admin()
                                    on:change=move |ev| {
                                        let v = event_target_value(&ev).trim().parse().unwrap_or(-1);
                                        configs.update(|all| if let Some(c) = all.get_mut(i) { c.prioridad = v });
                                    } />
                            </label>
                            <label class="field">
                                <span class="field__label">"Campos que no se sincronizan (separados por coma)"</span>
                                <input class="field__input" prop:value=c.excluded_fields.join(", ") disabled=move || !admin()
                                    on:change=move |ev| {
                                        let v: Vec<String> = event_target_value(&ev).split(',').map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect();
                                        configs.update(|all| if let Some(c) = all.get_mut(i) { c.excluded_fields = v });
                                    } />
                            </label>
                            {move || admin().then(|| view! {
                                <button class="button button--primary" type="button" data-testid="config-save" on:click=move |_| save(i)>"Guardar"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
