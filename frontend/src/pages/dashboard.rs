//! The sync dashboard (`/sincronizacion/dashboard/`, managers for their store, admins for all):
//! conflicts held for a manager with their resolution — base, the store's value and the
//! server's side by side per field, choose one or type a value — conflicts resolved lately,
//! and each device's last sync with a chart of ops synced per hour. It stays current without a
//! reload: sockets on the conflicts and status channels make it fetch again.

use std::{cell::Cell, collections::BTreeMap, rc::Rc};

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::{devices::Device, supervision::SessionRecord},
    sync::events::Event,
    Action,
};

use super::conflicts::{ConflictLists, ConflictsSection};
use crate::{api, connection::Connection, names::Names, poke, session::Session};

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

/// Ops sent per local hour (`YYYY-MM-DD HH` in the store's time), oldest first, the last 12
/// hours that had any.
fn per_hour(sessions: &[SessionRecord]) -> Vec<(String, i64)> {
    let mut hours: BTreeMap<String, i64> = BTreeMap::new();
    for s in sessions {
        if let Some(hour) = crate::local_time::hour_of(&s.fin) {
            *hours.entry(hour).or_default() += s.enviadas;
        }
    }
    let all: Vec<_> = hours.into_iter().collect();
    all[all.len().saturating_sub(12)..].to_vec()
}

/// Keeps the conflicts and status sockets open while the page is (until `stop`), reloading
/// what an event names; `live` says whether the conflicts channel is open.
pub(super) fn listen_live(
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
    let lists = ConflictLists::new();
    let names = Names::load();
    let sessions: RwSignal<Vec<SessionRecord>> = RwSignal::new(Vec::new());
    let registered: RwSignal<Vec<Device>> = RwSignal::new(Vec::new());
    let live = RwSignal::new(false);
    let allowed = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::SuperviseSync(p.tienda.id)))
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
    lists.load();
    load_sessions();

    // Live: the conflicts channel (and the status channel, for device activity).
    let stop = Rc::new(Cell::new(false));
    if allowed() {
        listen_live(
            Rc::new(move || lists.load()),
            Rc::new(load_sessions),
            (live, Rc::clone(&stop)),
        );
    }
    let stop_on_leave = send_wrapper::SendWrapper::new(Rc::clone(&stop));
    on_cleanup(move || stop_on_leave.set(true));

    view! {
        {move || (!allowed()).then(|| view! {
            <section class="card"><p>"El tablero de sincronización es del gerente y del administrador."</p></section>
        })}
        <div class="dashboard" class:hidden=move || !allowed()>
            <section class="card">
                <header class="sale__head">
                    <h1>"Sincronización"</h1>
                    <nav class="dashboard__links" aria-label="Pantallas de sincronización">
                        <a class="button" href="/sincronizacion/conflictos/">"Conflictos"</a>
                        <a class="button" href="/sincronizacion/cola">"Cola"</a>
                        <a class="button" href="/sincronizacion/auditoria">"Auditoría"</a>
                        <a class="button" href="/sincronizacion/configuracion">"Configuración"</a>
                    </nav>
                    <span class="muted" data-testid="dashboard-live" data-live=move || live.get().to_string()>
                        {move || if live.get() { "En vivo" } else { "Sin conexión en vivo" }}
                    </span>
                </header>
                <ConflictsSection lists=lists names=names />
            </section>
            <DevicesAndActivity registered=registered sessions=sessions names=names />
        </div>
    }
}

/// Each registered device with its connection and last sync, and the ops synced per hour.
#[component]
fn DevicesAndActivity(
    registered: RwSignal<Vec<Device>>,
    sessions: RwSignal<Vec<SessionRecord>>,
    names: Names,
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
                                    <td>{names.store(d.tienda_id)}</td>
                                    <td data-testid="device-state">{
                                        let state = if !d.activo { "Dado de baja" } else if online { "En línea" } else { "Desconectado" };
                                        if d.reloj_adelantado_ms > 0 {
                                            format!("{state} · reloj adelantado {} min", (d.reloj_adelantado_ms + 59_999) / 60_000)
                                        } else {
                                            state.to_owned()
                                        }
                                    }</td>
                                    <td>{if fin.is_empty() { "—".to_owned() } else { crate::local_time::of(&fin) }}</td><td>{sent}</td><td>{got}</td>
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
                                    <text x=(x + 11.0).to_string() y="125" class="chart__label">{format!("{}:00", hour.chars().skip(11).collect::<String>())}</text>
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
