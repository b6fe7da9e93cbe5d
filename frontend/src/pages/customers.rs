//! Customers (`/clientes`): find by name or phone in the device's cache, create and edit
//! (everyone at the till keeps a customer's data current; removing one is a manager's). Saving is an op in the outbox, online or offline; an edit sends
//! only the fields that changed, from the version it started on, so the server can merge it
//! with other edits or settle a conflict by the model's strategy.

use leptos::prelude::*;
use pronto_shared::{
    api::customers::CustomerInput,
    domain::FieldErrors,
    sync::{config::CLIENTE, engine::LocalChange, OpKind},
    Action,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    components::modal::Modal,
    live_search::live_search,
    local_store::LocalStore,
    pending::{PendingOps, Shown},
    record_form::{Editor, RecordScreen},
};

const RESULTS: usize = 30;

/// The form's fields, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Form {
    /// `None` for a new customer.
    id: Option<Uuid>,
    version: i64,
    nombre: String,
    telefono: String,
    email: String,
    rfc: String,
    notas: String,
    /// What the record held when the form opened (to send only the changes).
    before: Map<String, Value>,
}

fn text_of(data: &Value, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Form {
    fn of(shown: &Shown) -> Self {
        let d = &shown.data;
        let mut form = Self {
            id: d
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok()),
            version: shown.version,
            nombre: text_of(d, "nombre"),
            telefono: text_of(d, "telefono"),
            email: text_of(d, "email"),
            rfc: text_of(d, "rfc"),
            notas: text_of(d, "notas"),
            before: Map::new(),
        };
        form.before = form.fields();
        form
    }

    /// The wire fields of the form; empty optional fields are `null`.
    fn fields(&self) -> Map<String, Value> {
        let optional = |s: &str| {
            let t = s.trim();
            if t.is_empty() {
                Value::Null
            } else {
                Value::from(t)
            }
        };
        let mut map = Map::new();
        map.insert("nombre".into(), Value::from(self.nombre.trim()));
        map.insert("telefono".into(), optional(&self.telefono));
        map.insert("email".into(), optional(&self.email));
        map.insert("rfc".into(), optional(&self.rfc));
        map.insert("notas".into(), Value::from(self.notas.trim()));
        map
    }

    /// The op this form saves: a create with every field, or an update of only the fields
    /// that changed, from the version the form opened on; `None` when nothing changed.
    fn change(&self) -> Option<LocalChange> {
        let fields = self.fields();
        match self.id {
            None => LocalChange::of(CLIENTE, Uuid::now_v7(), OpKind::Create, None, &fields),
            Some(id) => {
                let changed: Map<String, Value> = fields
                    .into_iter()
                    .filter(|(k, v)| self.before.get(k) != Some(v))
                    .collect();
                if changed.is_empty() {
                    return None;
                }
                // A record created here and not sent yet will be version 1 when its create
                // applies; the edit, queued behind it, starts from there.
                let base = Some(self.version.max(1));
                LocalChange::of(CLIENTE, id, OpKind::Update, base, &changed)
            }
        }
    }

    fn input(&self) -> CustomerInput {
        let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        CustomerInput {
            id: None,
            nombre: self.nombre.clone(),
            telefono: optional(&self.telefono),
            email: optional(&self.email),
            rfc: optional(&self.rfc),
            notas: optional(&self.notas),
            version: None,
        }
    }
}

async fn search(store: &LocalStore, query: &str) -> Vec<Shown> {
    let pending = PendingOps::of(
        CLIENTE,
        store.outbox_of("cliente").await.unwrap_or_default(),
    );
    let mut found: Vec<Shown> = store
        .search_customers(query, RESULTS)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|data| {
            let id = Uuid::parse_str(data.get("id")?.as_str()?).ok()?;
            let version = data.get("version").and_then(Value::as_i64).unwrap_or(0);
            pending.overlaid(id, Some((data, version)))
        })
        .collect();
    let folded = pronto_shared::search::fold(query);
    let listed: std::collections::HashSet<Uuid> = found
        .iter()
        .filter_map(|s| {
            s.data["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
        })
        .collect();
    for &id in pending.created_here() {
        if listed.contains(&id) {
            continue;
        }
        if let Some(shown) = pending.overlaid(id, None) {
            let name = pronto_shared::search::fold(&text_of(&shown.data, "nombre"));
            if name.contains(&folded) || text_of(&shown.data, "telefono").contains(query.trim()) {
                found.push(shown);
            }
        }
    }
    found
}

#[component]
pub fn Customers() -> impl IntoView {
    let editor = Editor::from_context();
    let can_edit = editor.may(Action::EditCustomer);
    let screen = RecordScreen::<Form>::new();
    let RecordScreen {
        query,
        results,
        form,
        errors,
        notice,
        ..
    } = screen;
    let refresh = live_search(&editor.sync, query, results, 2, |store, text| async move {
        search(&store, &text).await
    });
    let refresh_input = refresh.clone();
    let save = move |_| {
        let Some(current) = form.get_untracked() else {
            return;
        };
        if let Err(e) = current.input().validate() {
            errors.set(e);
            return;
        }
        errors.set(FieldErrors::new());
        let Some(change) = current.change() else {
            screen.open(None);
            return;
        };
        let name = current.nombre.trim().to_owned();
        let refresh = refresh.clone();
        editor.save(screen, change, name.clone(), move || {
            query.set(name);
            refresh();
        });
    };
    let field = move |label: &'static str,
                      key: &'static str,
                      get: fn(&Form) -> String,
                      set: fn(&mut Form, String),
                      editable: bool| {
        screen.text_field(
            (label, format!("customer-{key}"), key, "text"),
            (get, set),
            editable,
        )
    };

    view! {
        <div class="customers">
            <section class="card">
                <header class="sale__head">
                    <h1>"Clientes"</h1>
                    <button class="button button--primary" type="button" data-testid="customer-new"
                        on:click=move |_| screen.open(Some(Form::default()))>
                        "Nuevo cliente"
                    </button>
                </header>
                <label class="field">
                    <span class="field__label">"Buscar"</span>
                    <input class="field__input field__input--big" type="search" autocomplete="off"
                        placeholder="Nombre o teléfono" data-testid="customer-query"
                        prop:value=move || query.get()
                        on:input=move |ev| { query.set(event_target_value(&ev)); refresh_input(); } />
                </label>
                {move || notice.get().map(|n| view! { <p class="notice notice--ok" role="status" data-testid="customer-notice">{n}</p> })}
                <ul class="stock__rows" data-testid="customer-results">
                    {move || results.get().into_iter().map(|shown| {
                        let opened = shown.clone();
                        view! {
                            <li>
                                <button class="result" type="button" data-testid="customer-row"
                                    on:click=move |_| screen.open(Some(Form::of(&opened)))>
                                    <span class="result__name">{text_of(&shown.data, "nombre")}</span>
                                    <span class="result__meta">
                                        {[text_of(&shown.data, "telefono"), text_of(&shown.data, "email")]
                                            .into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")}
                                    </span>
                                    {shown.pending.then(|| view! { <span class="badge" data-testid="customer-pending">"por enviar"</span> })}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            {move || { let save = save.clone(); screen.current().map(|f| {
                let editable = f.id.is_none() || can_edit();
                let title = if f.id.is_none() { "Nuevo cliente".to_owned() } else { format!("Cliente {}", f.nombre) };
                view! {
                    <Modal label=title class="card customer-form record-dialog" testid="customer-form"
                        on_close=Callback::new(move |()| screen.open(None))>
                        <h2>{if f.id.is_none() { "Nuevo cliente" } else { "Cliente" }}</h2>
                        {field("Nombre", "nombre", |f| f.nombre.clone(), |f, v| f.nombre = v, editable)}
                        {field("Teléfono", "telefono", |f| f.telefono.clone(), |f, v| f.telefono = v, editable)}
                        {field("Correo", "email", |f| f.email.clone(), |f, v| f.email = v, editable)}
                        {field("RFC", "rfc", |f| f.rfc.clone(), |f, v| f.rfc = v, editable)}
                        {field("Notas", "notas", |f| f.notas.clone(), |f, v| f.notas = v, editable)}
                        {(!editable).then(|| view! { <p class="muted">"No puedes editar clientes."</p> })}
                        <div class="customer__actions">
                            {editable.then(|| view! {
                                <button class="button button--primary" type="button" data-testid="customer-save"
                                    on:click=save.clone()>"Guardar"</button>
                            })}
                            <button class="button" type="button" on:click=move |_| screen.open(None)>"Cerrar"</button>
                        </div>
                    </Modal>
                }
            })}}
        </div>
    }
}
