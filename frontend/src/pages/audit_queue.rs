//! The audit log and the sync queue (`/sincronizacion/auditoria`, `/sincronizacion/cola`):
//! managers see their store, admins everything. The audit screen filters by model, entity,
//! person, device and dates, and (admins) runs the hash-chain integrity check; the queue lists
//! ops by status with the server's answer and why it was flagged, lets an admin retry or
//! discard a refused op, and a manager accept or discard one held for them (an unsigned op of
//! the previous release pushed by someone other than its author).

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        devices::StrandedOp,
        supervision::{Integrity, QueuedOp, StoredAuditEntry},
    },
    sync::OpResult,
    Action,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{api, local_time, names::Names, session::Session, words};

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

/// What an audit entry is about, in words: the record's kind and, when its data names it, the
/// customer's or product's name or the sale's folio.
fn record_of(entry: &pronto_shared::api::supervision::AuditEntry) -> String {
    let named = [entry.after.as_ref(), entry.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|data| {
            ["folio", "nombre"]
                .iter()
                .find_map(|k| data.get(*k).and_then(Value::as_str).map(str::to_owned))
        });
    match named {
        Some(name) => format!("{} {name}", words::model(&entry.model)),
        None => words::model(&entry.model).to_owned(),
    }
}

/// What the server answered an op, in a few words.
fn answer(result: Option<&OpResult>) -> String {
    match result.map(OpResult::original) {
        Some(OpResult::Rejected { reason, .. } | OpResult::Held { reason, .. }) => reason.clone(),
        Some(OpResult::Applied { version, .. }) => format!("versión {version}"),
        _ => String::new(),
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

/// A picker of one filter: "Todos" or one of `options` (value, text).
fn pick(
    label: &'static str,
    signal: RwSignal<String>,
    options: Vec<(String, String)>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field__label">{label}</span>
            <select class="field__input" on:change=move |ev| signal.set(event_target_value(&ev))>
                <option value="" selected=move || signal.get().is_empty()>"Todos"</option>
                {options.into_iter().map(|(value, text)| {
                    let v = value.clone();
                    view! { <option value=value selected=move || signal.get() == v>{text}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

fn day_field(label: &'static str, signal: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field__label">{label}</span>
            <input class="field__input" type="date" prop:value=move || signal.get()
                on:input=move |ev| signal.set(event_target_value(&ev)) />
        </label>
    }
}

/// The audit screen's filters, as chosen.
#[derive(Clone, Copy)]
struct AuditFilters {
    modelo: RwSignal<String>,
    dispositivo: RwSignal<String>,
    usuario: RwSignal<String>,
    desde: RwSignal<String>,
    hasta: RwSignal<String>,
}

impl AuditFilters {
    fn new() -> Self {
        let empty = || RwSignal::new(String::new());
        Self {
            modelo: empty(),
            dispositivo: empty(),
            usuario: empty(),
            desde: empty(),
            hasta: empty(),
        }
    }

    fn url(self) -> String {
        format!(
            "/api/sincronizacion/auditoria/{}",
            query(&[
                ("modelo", self.modelo.get_untracked()),
                ("dispositivo", self.dispositivo.get_untracked()),
                ("usuario", self.usuario.get_untracked()),
                // Days as the person means them: from the start of the first local day to the
                // end of the last one.
                (
                    "desde",
                    local_time::day_start(&self.desde.get_untracked(), 0).unwrap_or_default()
                ),
                (
                    "hasta",
                    local_time::day_start(&self.hasta.get_untracked(), 1).unwrap_or_default()
                ),
                ("limite", "200".into()),
            ])
        )
    }
}

/// Record type, person, device (with its store) and dates.
#[component]
fn AuditFilterForm(
    filters: AuditFilters,
    names: Names,
    on_submit: impl Fn() + 'static,
) -> impl IntoView {
    let models = [
        "ventas.Venta",
        "clientes.Cliente",
        "productos.Producto",
        "inventario.Existencia",
    ]
    .into_iter()
    .map(|m| (m.to_owned(), words::model(m).to_owned()))
    .collect();
    view! {
        <form class="audit__filters" on:submit=move |ev| { ev.prevent_default(); on_submit(); }>
            {pick("Registro", filters.modelo, models)}
            {move || {
                let d = names.directory();
                view! {
                    {pick("Persona", filters.usuario, d.personas.iter().map(|p| (p.id.to_string(), p.nombre.clone())).collect())}
                    {pick("Dispositivo", filters.dispositivo, d.dispositivos.iter().map(|x| {
                        let store = d.store(x.tienda_id).map(|s| s.nombre.clone()).unwrap_or_default();
                        (x.id.to_string(), format!("{} · {store}", x.nombre))
                    }).collect())}
                }
            }}
            {day_field("Desde", filters.desde)}
            {day_field("Hasta", filters.hasta)}
            <button class="button button--primary" type="submit">"Filtrar"</button>
        </form>
    }
}

fn integrity_notice(r: Integrity) -> impl IntoView {
    let ok = r.ok;
    let message = if ok {
        format!("Cadena íntegra: {} entradas verificadas.", r.entries)
    } else {
        format!(
            "Cadena rota en la entrada número {}: {}",
            r.first_broken.map(|id| id.to_string()).unwrap_or_default(),
            r.reason.unwrap_or_default()
        )
    };
    view! { <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } data-testid="integrity-result" data-ok=ok.to_string()>{message}</p> }
}

#[component]
pub fn Audit() -> impl IntoView {
    let session = expect_context::<Session>();
    let admin = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::ConfigureSync))
    };
    let filters = AuditFilters::new();
    let names = Names::load();
    let entries: RwSignal<Vec<StoredAuditEntry>> = RwSignal::new(Vec::new());
    let integrity: RwSignal<Option<Integrity>> = RwSignal::new(None);
    let problem: RwSignal<Option<String>> = RwSignal::new(None);

    let load = move || {
        let url = filters.url();
        spawn_local(async move {
            match api::get::<Vec<StoredAuditEntry>>(&url).await {
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
            match api::get::<Integrity>("/api/sincronizacion/auditoria/integridad").await {
                Ok(result) => integrity.set(Some(result)),
                Err(e) => problem.set(Some(e.message())),
            }
        });
    };

    view! {
        <section class="card dashboard" data-testid="audit">
            <h1>"Auditoría"</h1>
            <AuditFilterForm filters=filters names=names on_submit=load />
            {move || admin().then(|| view! {
                <button class="button" type="button" data-testid="integrity-check" on:click=check>"Verificar integridad de la cadena"</button>
            })}
            {move || integrity.get().map(integrity_notice)}
            {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert">{p}</p> })}
            <table class="conflict__table" data-testid="audit-entries">
                <thead><tr><th>"Núm."</th><th>"Cuándo"</th><th>"Registro"</th><th>"Qué pasó"</th><th>"Persona"</th><th>"Dispositivo"</th></tr></thead>
                <tbody>
                    {move || entries.get().into_iter().map(|e| view! {
                        <tr data-testid="audit-entry">
                            <td>{e.id}</td><td>{local_time::of(&e.entry.at)}</td><td>{record_of(&e.entry)}</td>
                            <td>{words::status(&e.entry.result)}</td>
                            <td>{move || names.person_text(e.entry.user_id.as_deref())}</td>
                            <td>{move || names.device_text(e.entry.device_id.as_deref())}</td>
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
    let admin = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::ConfigureSync))
    };
    let status = RwSignal::new(String::from("rejected"));
    let names = Names::load();
    let ops: RwSignal<Vec<QueuedOp>> = RwSignal::new(Vec::new());
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);

    let load = move || {
        let url = format!(
            "/api/sincronizacion/cola/{}",
            query(&[("estado", status.get_untracked())])
        );
        spawn_local(async move {
            match api::get::<Vec<QueuedOp>>(&url).await {
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
    let act = move |op_id: Uuid, action: &'static str| {
        spawn_local(async move {
            let url = format!("/api/sincronizacion/cola/{op_id}/{action}");
            match api::post::<_, Value>(&url, &serde_json::json!({})).await {
                Ok(_) => {
                    let done = if action == "descartar" {
                        "descartada"
                    } else {
                        "enviada otra vez"
                    };
                    message.set(Some((true, format!("Listo: operación {done}."))));
                    load();
                }
                Err(e) => message.set(Some((false, e.message()))),
            }
        });
    };

    view! {
        <section class="card dashboard" data-testid="queue">
            <h1>"Cola de sincronización"</h1>
            <div class="pay queue__states" role="group" aria-label="Estado">
                {[("rejected", "Rechazadas"), ("pending", "Esperan al gerente"), ("conflict", "Con conflicto"), ("applied", "Aplicadas"), ("discarded", "Descartadas")]
                    .into_iter().map(|(key, label)| view! {
                        <button type="button" class="pay__option" aria-pressed=move || (status.get() == key).to_string()
                            on:click=move |_| { status.set(key.into()); load(); }>{label}</button>
                    }).collect_view()}
            </div>
            {move || message.get().map(|(ok, t)| view! { <p class=if ok { "notice notice--ok" } else { "notice notice--bad" } role="status">{t}</p> })}
            <table class="conflict__table" data-testid="queue-ops">
                <thead><tr><th>"Recibida"</th><th>"Dispositivo"</th><th>"Núm."</th><th>"Registro"</th><th>"Qué hace"</th><th>"Estado"</th><th>"Respuesta"</th><th>"Revisar"</th><th>"Acciones"</th></tr></thead>
                <tbody>
                    {move || ops.get().into_iter().map(|op| {
                        let id = op.op_id;
                        let answer = answer(op.resultado.as_ref());
                        let refused = op.estado == "rejected";
                        let held = matches!(op.resultado, Some(OpResult::Held { .. }));
                        let flags = flag_label(op.marca.as_deref().unwrap_or_default());
                        view! {
                            <tr data-testid="queue-op">
                                <td>{local_time::of(&op.recibida)}</td><td>{move || names.device(op.dispositivo_id)}</td>
                                <td>{op.seq}</td><td>{words::model(&op.modelo)}</td><td>{words::op_kind(&op.tipo)}</td>
                                <td>{words::status(&op.estado)}</td><td>{answer}</td>
                                <td data-testid="queue-flag">{flags}</td>
                                <td>{(admin() && refused).then(|| view! {
                                    <button class="button" type="button" on:click=move |_| act(id, "reintentar")>"Reintentar"</button>
                                    <button class="button" type="button" on:click=move |_| act(id, "descartar")>"Descartar"</button>
                                })}
                                {held.then(|| view! {
                                    <button class="button" type="button" data-testid="accept-held" on:click=move |_| act(id, "reintentar")>"Aceptar"</button>
                                    <button class="button" type="button" on:click=move |_| act(id, "descartar")>"Descartar"</button>
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
                                <td>{op.dispositivo}</td><td>{op.seq}</td><td>{words::model(&op.modelo)}</td>
                                <td>{op.motivo}</td><td>{crate::local_time::of(&op.reportada)}</td><td>{op.reportada_por}</td>
                            </tr>
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </section>
    }
}
