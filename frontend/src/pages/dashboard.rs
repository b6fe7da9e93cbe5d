//! The sync dashboard (`/sincronizacion/dashboard/`, managers for their store, admins for all):
//! conflicts held for a manager with their resolution — base, the store's value and the
//! server's side by side per field, choose one or type a value — conflicts resolved lately,
//! and each device's last sync with a chart of ops synced per hour. It stays current without a
//! reload: sockets on the conflicts and status channels make it fetch again.

use std::{cell::Cell, collections::BTreeMap, rc::Rc};

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        conflicts::{ConflictView, ResolveInput},
        devices::Device,
        supervision::SessionRecord,
    },
    sync::events::Event,
    Action,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{api, connection::Connection, poke, session::Session};

/// How a field of a conflict is settled.
#[derive(Debug, Clone, PartialEq)]
enum Choice {
    Store,
    Server,
    Typed(String),
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn model_label(model: &str) -> &str {
    match model {
        "clientes.Cliente" => "Cliente",
        "productos.Producto" => "Producto",
        other => other,
    }
}

/// Devices by their latest session: (device, last end, ops sent, ops received).
fn devices(sessions: &[SessionRecord]) -> Vec<(String, String, i64, i64)> {
    let mut by: BTreeMap<String, (String, i64, i64)> = BTreeMap::new();
    for s in sessions {
        let entry = by.entry(s.dispositivo_id.to_string()).or_default();
        if s.fin > entry.0 {
            entry.0 = s.fin.clone();
        }
        entry.1 += s.enviadas;
        entry.2 += s.recibidas;
    }
    let mut rows: Vec<_> = by
        .into_iter()
        .map(|(d, (fin, s, r))| (d, fin, s, r))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1));
    rows
}

/// A device with an open socket is connected while that socket was heard in the last minute
/// (the server stamps it on connect and every 20 s; a server that died never closed it).
fn connected(seen: Option<&str>) -> bool {
    let Some(seen) = seen else { return false };
    let at = js_sys::Date::parse(seen);
    !at.is_nan() && js_sys::Date::now() - at < 60_000.0
}

/// Ops sent per hour (`YYYY-MM-DDTHH`), oldest first, the last 12 hours that had any.
fn per_hour(sessions: &[SessionRecord]) -> Vec<(String, i64)> {
    let mut hours: BTreeMap<String, i64> = BTreeMap::new();
    for s in sessions {
        let hour: String = s.fin.chars().take(13).collect();
        *hours.entry(hour).or_default() += s.enviadas;
    }
    let all: Vec<_> = hours.into_iter().collect();
    all[all.len().saturating_sub(12)..].to_vec()
}

/// The values the manager chose for each field of `conflict` (the store's by default).
fn chosen_values(
    conflict: &ConflictView,
    choices: &BTreeMap<(Uuid, String), Choice>,
) -> BTreeMap<String, Value> {
    conflict
        .registro
        .fields
        .iter()
        .map(|field| {
            let choice = choices
                .get(&(conflict.id, field.clone()))
                .cloned()
                .unwrap_or(Choice::Store);
            let value = match choice {
                Choice::Store => conflict.registro.local.get(field).cloned(),
                Choice::Server => conflict
                    .actual
                    .get(field)
                    .or_else(|| conflict.registro.server.get(field))
                    .cloned(),
                Choice::Typed(text) => Some(Value::from(text)),
            };
            (field.clone(), value.unwrap_or(Value::Null))
        })
        .collect()
}

/// Keeps the conflicts and status sockets open while the page is (until `stop`), reloading
/// what an event names; `live` says whether the conflicts channel is open.
fn listen_live(
    load_conflicts: Rc<dyn Fn()>,
    load_sessions: Rc<dyn Fn()>,
    (live, stop): (RwSignal<bool>, Rc<Cell<bool>>),
) {
    let connection = expect_context::<Connection>();
    let session = expect_context::<Session>();
    let on_conflict: Rc<dyn Fn(Option<Event>)> = Rc::new(move |event| {
        if matches!(
            event,
            None | Some(Event::Conflicto { .. } | Event::Resincronizar)
        ) {
            load_conflicts();
        }
    });
    // `None`: the socket (re)opened. What happened before it did (a till connecting between
    // the first load and the subscription) came as no event: load again.
    let on_status: Rc<dyn Fn(Option<Event>)> = Rc::new(move |event| {
        if matches!(
            event,
            None | Some(
                Event::Sincronizacion { .. } | Event::Dispositivo { .. } | Event::Resincronizar
            )
        ) {
            load_sessions();
        }
    });
    let status_open = RwSignal::new(false);
    let plain: Rc<dyn Fn() -> String> = Rc::new(String::new);
    spawn_local(poke::listen(
        "conflictos",
        Rc::clone(&plain),
        on_conflict,
        live,
        connection,
        session,
        Rc::clone(&stop),
    ));
    spawn_local(poke::listen(
        "estado",
        plain,
        on_status,
        status_open,
        connection,
        session,
        stop,
    ));
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let session = expect_context::<Session>();
    let pending: RwSignal<Vec<ConflictView>> = RwSignal::new(Vec::new());
    let resolved: RwSignal<Vec<ConflictView>> = RwSignal::new(Vec::new());
    let sessions: RwSignal<Vec<SessionRecord>> = RwSignal::new(Vec::new());
    let registered: RwSignal<Vec<Device>> = RwSignal::new(Vec::new());
    let choices: RwSignal<BTreeMap<(Uuid, String), Choice>> = RwSignal::new(BTreeMap::new());
    let problem: RwSignal<Option<String>> = RwSignal::new(None);
    let live = RwSignal::new(false);
    let allowed = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::SuperviseSync(p.tienda.id)))
    };

    let load_conflicts = move || {
        spawn_local(async move {
            match api::get::<Vec<ConflictView>>("/api/sincronizacion/conflictos/").await {
                Ok(list) => pending.set(list),
                Err(e) => problem.set(Some(e.message())),
            }
            if let Ok(list) =
                api::get::<Vec<ConflictView>>("/api/sincronizacion/conflictos/?estado=resuelto")
                    .await
            {
                resolved.set(list.into_iter().take(20).collect());
            }
        });
    };
    let load_sessions = move || {
        spawn_local(async move {
            if let Ok(list) = api::get::<Vec<Device>>("/api/devices").await {
                registered.set(list);
            }
            if let Ok(list) =
                api::get::<Vec<SessionRecord>>("/api/sincronizacion/registros/?limite=200").await
            {
                sessions.set(list);
            }
        });
    };
    load_conflicts();
    load_sessions();

    // Live: the conflicts channel (and the status channel, for device activity).
    let stop = Rc::new(Cell::new(false));
    if allowed() {
        listen_live(
            Rc::new(load_conflicts),
            Rc::new(load_sessions),
            (live, Rc::clone(&stop)),
        );
    }
    let stop_on_leave = send_wrapper::SendWrapper::new(Rc::clone(&stop));
    on_cleanup(move || stop_on_leave.set(true));

    let resolve = move |conflict: ConflictView| {
        let valores = chosen_values(&conflict, &choices.get_untracked());
        let url = format!("/api/sincronizacion/conflictos/{}/resolver", conflict.id);
        spawn_local(async move {
            match api::post::<_, ConflictView>(&url, &ResolveInput { valores }).await {
                Ok(_) => {
                    problem.set(None);
                    load_conflicts();
                }
                Err(e) => problem.set(Some(e.message())),
            }
        });
    };

    view! {
        {move || (!allowed()).then(|| view! {
            <section class="card"><p>"El tablero de sincronización es del gerente y del administrador."</p></section>
        })}
        <div class="dashboard" class:hidden=move || !allowed()>
            <section class="card">
                <header class="sale__head">
                    <h1>"Sincronización"</h1>
                    <nav class="dashboard__links">
                        <a class="button" href="/sincronizacion/cola">"Cola"</a>
                        <a class="button" href="/sincronizacion/auditoria">"Auditoría"</a>
                        <a class="button" href="/sincronizacion/configuracion">"Configuración"</a>
                    </nav>
                    <span class="muted" data-testid="dashboard-live" data-live=move || live.get().to_string()>
                        {move || if live.get() { "En vivo" } else { "Sin conexión en vivo" }}
                    </span>
                </header>
                {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert">{p}</p> })}
                <h2>"Conflictos por resolver"</h2>
                {move || pending.with(Vec::is_empty).then(|| view! { <p class="muted" data-testid="no-conflicts">"No hay conflictos pendientes."</p> })}
                <ul class="conflicts" data-testid="pending-conflicts">
                    {move || pending.get().into_iter().map(|c| view! {
                        <ConflictCard conflict=c choices=choices on_resolve=resolve />
                    }).collect_view()}
                </ul>
                <h2>"Resueltos recientemente"</h2>
                <ul class="stock__rows" data-testid="resolved-conflicts">
                    {move || resolved.get().into_iter().map(|c| view! {
                        <li class="resolved" data-testid="resolved-conflict" data-entity=c.entidad_id.to_string()>
                            {format!("{} · {} · {:?} → {:?} · {}", model_label(&c.modelo), c.registro.fields.join(", "),
                                c.registro.strategy, c.registro.outcome, c.resuelto_en.clone().unwrap_or(c.creado.clone()))}
                        </li>
                    }).collect_view()}
                </ul>
            </section>
            <DevicesAndActivity registered=registered sessions=sessions />
        </div>
    }
}

/// One conflict held for the manager: per field the store's value, the server's, or one typed.
#[component]
fn ConflictCard(
    conflict: ConflictView,
    choices: RwSignal<BTreeMap<(Uuid, String), Choice>>,
    on_resolve: impl Fn(ConflictView) + Clone + 'static,
) -> impl IntoView {
    let c = conflict.clone();
    view! {
        <li class="conflict card" data-testid="conflict" data-entity=c.entidad_id.to_string()>
            <p class="conflict__title">
                {format!("{} · versión base {} · servidor v{} · {}", model_label(&c.modelo),
                    c.registro.base_version.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
                    c.registro.server_version, c.creado)}
            </p>
            <table class="conflict__table">
                <thead><tr><th>"Campo"</th><th>"Valor de la tienda"</th><th>"Valor del servidor"</th><th>"Otro"</th></tr></thead>
                <tbody>
                    {c.registro.fields.iter().map(|field| {
                        let key = (c.id, field.clone());
                        let (k1, k2, k3, k4, k5) = (key.clone(), key.clone(), key.clone(), key.clone(), key.clone());
                        let local = shown(c.registro.local.get(field));
                        let server = shown(c.actual.get(field).or_else(|| c.registro.server.get(field)));
                        let is = move |k: &(Uuid, String), want: fn(&Choice) -> bool| {
                            choices.with(|m| want(m.get(k).unwrap_or(&Choice::Store)))
                        };
                        view! {
                            <tr>
                                <th scope="row">{field.clone()}</th>
                                <td><button type="button" class="pay__option" data-testid="choose-store"
                                    aria-pressed=move || is(&k1, |c| *c == Choice::Store).to_string()
                                    on:click=move |_| choices.update(|m| { m.insert(k2.clone(), Choice::Store); })>{local}</button></td>
                                <td><button type="button" class="pay__option" data-testid="choose-server"
                                    aria-pressed=move || is(&k3, |c| *c == Choice::Server).to_string()
                                    on:click=move |_| choices.update(|m| { m.insert(k4.clone(), Choice::Server); })>{server}</button></td>
                                <td><input class="field__input" data-testid="choose-typed" placeholder="Escribe otro valor"
                                    on:input=move |ev| { let v = event_target_value(&ev); choices.update(|m| { m.insert(k5.clone(), Choice::Typed(v)); }); } /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {c.eliminado.then(|| view! {
                <p class="notice" data-testid="conflict-deleted">
                    "El registro se eliminó después del conflicto: se cierra sin cambiar nada."
                </p>
            })}
            <button class="button button--primary" type="button" data-testid="resolve"
                on:click=move |_| on_resolve(conflict.clone())>
                {if c.eliminado { "Cerrar conflicto" } else { "Resolver" }}
            </button>
        </li>
    }
}

/// Each registered device with its connection and last sync, and the ops synced per hour.
#[component]
fn DevicesAndActivity(
    registered: RwSignal<Vec<Device>>,
    sessions: RwSignal<Vec<SessionRecord>>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Dispositivos"</h2>
            <table class="conflict__table" data-testid="devices">
                <thead><tr><th>"Dispositivo"</th><th>"Tienda"</th><th>"Conexión"</th><th>"Última sincronización"</th><th>"Enviadas"</th><th>"Recibidas"</th></tr></thead>
                <tbody>
                    {move || {
                        let activity = devices(&sessions.get());
                        registered.get().into_iter().map(|d| {
                            let id = d.id.to_string();
                            let (fin, sent, got) = activity.iter().find(|(a, ..)| *a == id)
                                .map(|(_, f, s, g)| (f.clone(), *s, *g)).unwrap_or_default();
                            let online = d.conectado && connected(d.visto.as_deref());
                            view! {
                                <tr data-testid="device-row" data-device=id.clone() data-online=online.to_string()>
                                    <td>{format!("{} ({})", d.nombre, d.codigo)}</td>
                                    <td>{d.tienda_id.to_string().chars().take(8).collect::<String>()}</td>
                                    <td data-testid="device-state">{
                                        let state = if !d.activo { "Dado de baja" } else if online { "En línea" } else { "Desconectado" };
                                        if d.reloj_adelantado_ms > 0 {
                                            format!("{state} · reloj adelantado {} min", (d.reloj_adelantado_ms + 59_999) / 60_000)
                                        } else {
                                            state.to_owned()
                                        }
                                    }</td>
                                    <td>{if fin.is_empty() { "—".to_owned() } else { fin }}</td><td>{sent}</td><td>{got}</td>
                                </tr>
                            }
                        }).collect_view()
                    }}
                </tbody>
            </table>
            <h2>"Operaciones enviadas por hora"</h2>
            {move || {
                let bars = per_hour(&sessions.get());
                let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
                view! {
                    <svg class="chart" viewBox="0 0 360 140" role="img" aria-label="Operaciones por hora" data-testid="ops-chart">
                        {bars.iter().enumerate().map(|(i, (hour, n))| {
                            let h = (*n as f64 / max as f64 * 100.0).round();
                            let x = 10.0 + i as f64 * 29.0;
                            view! {
                                <g>
                                    <rect x=x.to_string() y=(110.0 - h).to_string() width="22" height=h.to_string() class="chart__bar"></rect>
                                    <text x=(x + 11.0).to_string() y="125" class="chart__label">{hour.chars().skip(11).collect::<String>()}</text>
                                    <text x=(x + 11.0).to_string() y=(106.0 - h).to_string() class="chart__label">{n.to_string()}</text>
                                </g>
                            }
                        }).collect_view()}
                    </svg>
                }
            }}
        </section>
    }
}
