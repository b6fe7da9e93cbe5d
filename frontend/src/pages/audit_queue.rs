//! The audit log and the sync queue (`/sincronizacion/auditoria`, `/sincronizacion/cola`):
//! managers see their store, admins everything. The audit screen filters by model, entity,
//! person, device and dates, and (admins) runs the hash-chain integrity check; the queue lists
//! ops by status with the server's answer and why it was flagged, lets an admin retry or
//! discard a refused op, and a manager accept or discard one held for them (an unsigned op of
//! the previous release pushed by someone other than its author).

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{api::devices::StrandedOp, Role};
use serde_json::Value;

use crate::{api, session::Session};

/// A flag of an applied op (`sync_ops.flag`, comma-separated), in the manager's words.
fn flag_label(flags: &str) -> String {
    flags
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f {
            "autor_revocado" => "Autor o dispositivo dado de baja",
            "reloj_adelantado" => "Reloj del dispositivo adelantado",
            "sin_firma" => "Sin firma (versión anterior de la app)",
            _ => "Revisar",
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A synced model's name for a person (`ventas.Venta` → `Venta`).
fn model_label(model: &str) -> String {
    model.rsplit('.').next().unwrap_or(model).to_owned()
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `?k=v&…` of the non-empty pairs, URL-encoded.
fn query(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let encoded: String = js_sys::encode_uri_component(v.trim()).into();
            format!("{k}={encoded}")
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let session = expect_context::<Session>();
    let admin = move || session.profile().is_some_and(|p| p.rol == Role::Admin);
    let filters: [RwSignal<String>; 5] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let [modelo, entidad, usuario, desde, hasta] = filters;
    let entries: RwSignal<Vec<Value>> = RwSignal::new(Vec::new());
    let integrity: RwSignal<Option<Value>> = RwSignal::new(None);
    let problem: RwSignal<Option<String>> = RwSignal::new(None);

    let load = move || {
        let url = format!(
            "/api/sincronizacion/auditoria/{}",
            query(&[
                ("modelo", modelo.get_untracked()),
                ("entidad", entidad.get_untracked()),
                ("usuario", usuario.get_untracked()),
                ("desde", desde.get_untracked()),
                ("hasta", hasta.get_untracked()),
                ("limite", "200".into()),
            ])
        );
        spawn_local(async move {
            match api::get::<Vec<Value>>(&url).await {
                Ok(list) => {
                    problem.set(None);
                    entries.set(list);
                }
                Err(e) => problem.set(Some(e.message())),
            }
        });
    };
    load();
    let check = move |_| {
        spawn_local(async move {
            match api::get::<Value>("/api/sincronizacion/auditoria/integridad").await {
                Ok(result) => integrity.set(Some(result)),
                Err(e) => problem.set(Some(e.message())),
            }
        });
    };
    let input = move |label: &'static str, signal: RwSignal<String>, placeholder: &'static str| {
        view! {
            <label class="field">
                <span class="field__label">{label}</span>
                <input class="field__input" placeholder=placeholder prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev)) />
            </label>
        }
    };

    view! {
        <section class="card dashboard" data-testid="audit">
            <h1>"Auditoría"</h1>
            <form class="audit__filters" on:submit=move |ev| { ev.prevent_default(); load(); }>
                {input("Modelo", modelo, "clientes.Cliente")}
                {input("Entidad (id)", entidad, "")}
                {input("Usuario (id)", usuario, "")}
                {input("Desde", desde, "AAAA-MM-DD")}
                {input("Hasta", hasta, "AAAA-MM-DD")}
                <button class="button button--primary" type="submit">"Filtrar"</button>
            </form>
            {move || admin().then(|| view! {
                <button class="button" type="button" data-testid="integrity-check" on:click=check>"Verificar integridad de la cadena"</button>
            })}
            {move || integrity.get().map(|r| {
                let ok = r.get("ok").and_then(Value::as_bool).unwrap_or(false);
                let message = if ok {
                    format!("Cadena íntegra: {} entradas verificadas.", text(&r, "entries"))
                } else {
                    format!("Cadena rota en la entrada {}: {}", text(&r, "first_broken"), text(&r, "reason"))
                };
                view! { <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } data-testid="integrity-result" data-ok=ok.to_string()>{message}</p> }
            })}
            {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert">{p}</p> })}
            <table class="conflict__table" data-testid="audit-entries">
                <thead><tr><th>"#"</th><th>"Cuándo"</th><th>"Modelo"</th><th>"Entidad"</th><th>"Resultado"</th><th>"Usuario"</th><th>"Dispositivo"</th></tr></thead>
                <tbody>
                    {move || entries.get().into_iter().map(|e| view! {
                        <tr data-testid="audit-entry">
                            <td>{text(&e, "id")}</td><td>{text(&e, "at")}</td><td>{text(&e, "model")}</td>
                            <td>{text(&e, "entity_id").chars().take(8).collect::<String>()}</td><td>{text(&e, "result")}</td>
                            <td>{text(&e, "user_id").chars().take(8).collect::<String>()}</td>
                            <td>{text(&e, "device_id").chars().take(8).collect::<String>()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
pub fn Queue() -> impl IntoView {
    let session = expect_context::<Session>();
    let admin = move || session.profile().is_some_and(|p| p.rol == Role::Admin);
    let status = RwSignal::new(String::from("rejected"));
    let ops: RwSignal<Vec<Value>> = RwSignal::new(Vec::new());
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);

    let load = move || {
        let url = format!(
            "/api/sincronizacion/cola/{}",
            query(&[("estado", status.get_untracked())])
        );
        spawn_local(async move {
            match api::get::<Vec<Value>>(&url).await {
                Ok(list) => ops.set(list),
                Err(e) => message.set(Some((false, e.message()))),
            }
        });
    };
    load();
    let stranded: RwSignal<Vec<StrandedOp>> = RwSignal::new(Vec::new());
    spawn_local(async move {
        match api::get::<Vec<StrandedOp>>("/api/sincronizacion/en-dispositivos/").await {
            Ok(list) => stranded.set(list),
            Err(e) => message.set(Some((false, e.message()))),
        }
    });
    let act = move |op_id: String, action: &'static str| {
        spawn_local(async move {
            let url = format!("/api/sincronizacion/cola/{op_id}/{action}");
            match api::post::<_, Value>(&url, &serde_json::json!({})).await {
                Ok(_) => {
                    message.set(Some((
                        true,
                        format!("Operación {}: hecho.", &op_id[..8.min(op_id.len())]),
                    )));
                    load();
                }
                Err(e) => message.set(Some((false, e.message()))),
            }
        });
    };

    view! {
        <section class="card dashboard" data-testid="queue">
            <h1>"Cola de sincronización"</h1>
            <div class="pay" role="radiogroup" aria-label="Estado">
                {[("rejected", "Rechazadas"), ("pending", "Esperan al gerente"), ("conflict", "Con conflicto"), ("applied", "Aplicadas"), ("discarded", "Descartadas")]
                    .into_iter().map(|(key, label)| view! {
                        <button type="button" class="pay__option" aria-pressed=move || (status.get() == key).to_string()
                            on:click=move |_| { status.set(key.into()); load(); }>{label}</button>
                    }).collect_view()}
            </div>
            {move || message.get().map(|(ok, t)| view! { <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } role="status">{t}</p> })}
            <table class="conflict__table" data-testid="queue-ops">
                <thead><tr><th>"Recibida"</th><th>"Dispositivo"</th><th>"Seq"</th><th>"Modelo"</th><th>"Tipo"</th><th>"Respuesta"</th><th>"Marca"</th><th></th></tr></thead>
                <tbody>
                    {move || ops.get().into_iter().map(|op| {
                        let id = text(&op, "op_id");
                        let (retry_id, discard_id) = (id.clone(), id.clone());
                        let answer = op.get("resultado").and_then(|r| r.get("reason").or_else(|| r.get("version"))).map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => format!("versión {other}"),
                        }).unwrap_or_default();
                        let refused = text(&op, "estado") == "rejected";
                        let held = op.get("resultado").and_then(|r| r.get("result")).and_then(Value::as_str) == Some("held");
                        let (accept_id, drop_id) = (id.clone(), id.clone());
                        let flags = flag_label(&text(&op, "marca"));
                        view! {
                            <tr data-testid="queue-op">
                                <td>{text(&op, "recibida")}</td><td>{text(&op, "dispositivo_id").chars().take(8).collect::<String>()}</td>
                                <td>{text(&op, "seq")}</td><td>{text(&op, "modelo")}</td><td>{text(&op, "tipo")}</td><td>{answer}</td>
                                <td data-testid="queue-flag">{flags}</td>
                                <td>{(admin() && refused).then(|| view! {
                                    <button class="button" type="button" on:click=move |_| act(retry_id.clone(), "reintentar")>"Reintentar"</button>
                                    <button class="button" type="button" on:click=move |_| act(discard_id.clone(), "descartar")>"Descartar"</button>
                                })}
                                {held.then(|| view! {
                                    <button class="button" type="button" data-testid="accept-held" on:click=move |_| act(accept_id.clone(), "reintentar")>"Aceptar"</button>
                                    <button class="button" type="button" on:click=move |_| act(drop_id.clone(), "descartar")>"Descartar"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2>"Sin entregar en los dispositivos"</h2>
            <p class="hint">"Operaciones que un dispositivo no pudo entregar y que no se pueden reenviar solas. Revisa el dispositivo antes de borrar sus datos."</p>
            <table class="conflict__table" data-testid="stranded-ops">
                <thead><tr><th>"Dispositivo"</th><th>"Núm."</th><th>"Registro"</th><th>"Motivo"</th><th>"Informado"</th><th>"Por"</th></tr></thead>
                <tbody>
                    {move || {
                        let list = stranded.get();
                        if list.is_empty() {
                            return view! { <tr><td colspan="6">"Ningún dispositivo tiene operaciones sin entregar."</td></tr> }.into_any();
                        }
                        list.into_iter().map(|op| view! {
                            <tr data-testid="stranded-op">
                                <td>{op.dispositivo}</td><td>{op.seq}</td><td>{model_label(&op.modelo)}</td>
                                <td>{op.motivo}</td><td>{crate::local_time::of(&op.reportada)}</td><td>{op.reportada_por}</td>
                            </tr>
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </section>
    }
}
