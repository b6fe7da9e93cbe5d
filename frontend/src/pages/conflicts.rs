//! Conflicts held for a manager, and those settled lately: each names its record (the
//! customer's name, the product's name, colour and size), its store and when it happened, and
//! shows per field the store's value and the server's side by side — choose one or type
//! another. A page of its own (`/sincronizacion/conflictos/`) and a section of the dashboard.

use std::{cell::Cell, collections::BTreeMap, rc::Rc};

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::{
    api::conflicts::{ConflictView, ResolveInput},
    Action,
};
use serde_json::Value;
use uuid::Uuid;

use super::dashboard::listen_live;
use crate::{api, local_time, names::Names, session::Session, words};

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
        Some(Value::String(s)) if s.is_empty() => "(vacío)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "Sí".into(),
        Some(Value::Bool(false)) => "No".into(),
        Some(other) => other.to_string(),
    }
}

/// "Cliente Ana Ruiz": the record's kind and name (the name the server gave, else the one in
/// either side of the conflict).
fn title(c: &ConflictView) -> String {
    let name = c.registro_nombre.clone().or_else(|| {
        [&c.registro.local, &c.registro.server]
            .into_iter()
            .find_map(|side| {
                side.get("nombre")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    });
    match name {
        Some(name) => format!("{} {name}", words::model(&c.modelo)),
        None => format!("{} sin nombre", words::model(&c.modelo)),
    }
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

/// The lists a conflicts section shows, and how to load them.
#[derive(Clone, Copy)]
pub struct ConflictLists {
    pending: RwSignal<Vec<ConflictView>>,
    resolved: RwSignal<Vec<ConflictView>>,
    problem: RwSignal<Option<String>>,
}

impl ConflictLists {
    pub fn new() -> Self {
        Self {
            pending: RwSignal::new(Vec::new()),
            resolved: RwSignal::new(Vec::new()),
            problem: RwSignal::new(None),
        }
    }

    pub fn load(self) {
        spawn_local(async move {
            match api::get::<Vec<ConflictView>>("/api/sincronizacion/conflictos/").await {
                Ok(list) => self.pending.set(list),
                Err(e) => self.problem.set(Some(e.message())),
            }
            if let Ok(list) =
                api::get::<Vec<ConflictView>>("/api/sincronizacion/conflictos/?estado=resuelto")
                    .await
            {
                self.resolved.set(list.into_iter().take(20).collect());
            }
        });
    }
}

impl Default for ConflictLists {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn ConflictsSection(lists: ConflictLists, names: Names) -> impl IntoView {
    let ConflictLists {
        pending,
        resolved,
        problem,
    } = lists;
    let choices: RwSignal<BTreeMap<(Uuid, String), Choice>> = RwSignal::new(BTreeMap::new());
    let resolve = move |conflict: ConflictView| {
        let valores = chosen_values(&conflict, &choices.get_untracked());
        let url = format!("/api/sincronizacion/conflictos/{}/resolver", conflict.id);
        spawn_local(async move {
            match api::post::<_, ConflictView>(&url, &ResolveInput { valores }).await {
                Ok(_) => {
                    problem.set(None);
                    lists.load();
                }
                Err(e) => problem.set(Some(e.message())),
            }
        });
    };
    view! {
        {move || problem.get().map(|p| view! { <p class="notice notice--bad" role="alert">{p}</p> })}
        <h2>"Conflictos por resolver"</h2>
        {move || pending.with(Vec::is_empty).then(|| view! { <p class="muted" data-testid="no-conflicts">"No hay conflictos pendientes."</p> })}
        <ul class="conflicts" data-testid="pending-conflicts">
            {move || pending.get().into_iter().map(|c| view! {
                <ConflictCard conflict=c choices=choices names=names on_resolve=resolve />
            }).collect_view()}
        </ul>
        <h2>"Resueltos recientemente"</h2>
        <ul class="stock__rows" data-testid="resolved-conflicts">
            {move || resolved.get().into_iter().map(|c| {
                let fields: Vec<String> = c.registro.fields.iter().map(|f| words::field(f)).collect();
                let at = local_time::of(c.resuelto_en.as_deref().unwrap_or(&c.creado));
                view! {
                    <li class="resolved" data-testid="resolved-conflict" data-entity=c.entidad_id.to_string()>
                        {format!("{} · {} · {}: {} · {} · {at}", title(&c), fields.join(", "),
                            words::strategy(c.registro.strategy), words::outcome(c.registro.outcome),
                            names.store(c.tienda_id))}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// One conflict held for the manager: per field the store's value, the server's, or one typed.
#[component]
fn ConflictCard(
    conflict: ConflictView,
    choices: RwSignal<BTreeMap<(Uuid, String), Choice>>,
    names: Names,
    on_resolve: impl Fn(ConflictView) + Clone + 'static,
) -> impl IntoView {
    let c = conflict.clone();
    view! {
        <li class="conflict card" data-testid="conflict" data-entity=c.entidad_id.to_string()>
            <p class="conflict__title" data-testid="conflict-title">{title(&c)}</p>
            <p class="muted">
                {move || format!("{} · {} · {}", names.store(c.tienda_id), local_time::of(&c.creado), words::strategy(c.registro.strategy))}
            </p>
            <table class="conflict__table">
                <thead><tr><th>"Campo"</th><th>"Valor de la tienda"</th><th>"Valor del servidor"</th><th>"Otro"</th></tr></thead>
                <tbody>
                    {conflict.registro.fields.iter().map(|field| {
                        let key = (conflict.id, field.clone());
                        let (k1, k2, k3, k4, k5) = (key.clone(), key.clone(), key.clone(), key.clone(), key.clone());
                        let local = shown(conflict.registro.local.get(field));
                        let server = shown(conflict.actual.get(field).or_else(|| conflict.registro.server.get(field)));
                        let is = move |k: &(Uuid, String), want: fn(&Choice) -> bool| {
                            choices.with(|m| want(m.get(k).unwrap_or(&Choice::Store)))
                        };
                        let label = words::field(field);
                        view! {
                            <tr>
                                <th scope="row">{label.clone()}</th>
                                <td><button type="button" class="pay__option" data-testid="choose-store"
                                    aria-pressed=move || is(&k1, |c| *c == Choice::Store).to_string()
                                    on:click=move |_| choices.update(|m| { m.insert(k2.clone(), Choice::Store); })>{local}</button></td>
                                <td><button type="button" class="pay__option" data-testid="choose-server"
                                    aria-pressed=move || is(&k3, |c| *c == Choice::Server).to_string()
                                    on:click=move |_| choices.update(|m| { m.insert(k4.clone(), Choice::Server); })>{server}</button></td>
                                <td><input class="field__input" data-testid="choose-typed" placeholder="Escribe otro valor"
                                    aria-label=format!("Otro valor de {label}")
                                    on:input=move |ev| { let v = event_target_value(&ev); choices.update(|m| { m.insert(k5.clone(), Choice::Typed(v)); }); } /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {conflict.eliminado.then(|| view! {
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

/// `/sincronizacion/conflictos/`: the conflicts alone, live like the dashboard.
#[component]
pub fn Conflicts() -> impl IntoView {
    let session = expect_context::<Session>();
    let allowed = move || {
        session
            .profile()
            .is_some_and(|p| p.principal().can(Action::SuperviseSync(p.tienda.id)))
    };
    let lists = ConflictLists::new();
    let names = Names::load();
    lists.load();
    let live = RwSignal::new(false);
    let stop = Rc::new(Cell::new(false));
    if allowed() {
        listen_live(
            Rc::new(move || lists.load()),
            Rc::new(|| {}),
            (live, Rc::clone(&stop)),
        );
    }
    let stop_on_leave = send_wrapper::SendWrapper::new(stop);
    on_cleanup(move || stop_on_leave.set(true));
    view! {
        {move || (!allowed()).then(|| view! {
            <section class="card"><p>"Los conflictos son del gerente y del administrador."</p></section>
        })}
        <section class="card dashboard" class:hidden=move || !allowed() data-testid="conflicts-page">
            <header class="sale__head">
                <h1>"Conflictos"</h1>
                <a class="button" href="/sincronizacion/dashboard">"Tablero"</a>
            </header>
            <ConflictsSection lists=lists names=names />
        </section>
    }
}
