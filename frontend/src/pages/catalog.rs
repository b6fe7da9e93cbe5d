//! The manager's catalog (`/catalogo`): find a shoe in the device's cache and change its name,
//! price or whether it is on sale. The edit is checked by the same product rules the server
//! applies (the whole record with the change must still be valid) and sent as an op with only
//! the changed fields, from the version shown.

use leptos::prelude::*;
use pronto_shared::{
    api::products::ProductInput,
    domain::{FieldErrors, Money},
    sync::{
        config::{PRODUCTO, PRODUCT_FIELDS},
        engine::LocalChange,
        OpKind,
    },
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

use pronto_shared::domain::money::mxn as money;

#[derive(Debug, Clone, PartialEq)]
struct Form {
    id: Uuid,
    version: i64,
    /// The record as shown when the form opened.
    data: Value,
    nombre: String,
    precio: String,
    activo: bool,
}

impl Form {
    fn of(shown: &Shown) -> Option<Self> {
        let d = &shown.data;
        Some(Self {
            id: Uuid::parse_str(d.get("id")?.as_str()?).ok()?,
            version: shown.version,
            data: d.clone(),
            nombre: d.get("nombre")?.as_str()?.to_owned(),
            precio: money(d.get("precio")?.as_i64()?),
            activo: d.get("activo").and_then(Value::as_bool).unwrap_or(true),
        })
    }

    /// The changed fields, checked with the whole product as it would become.
    fn changes(&self) -> Result<Map<String, Value>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let price = match Money::parse_mxn(&self.precio) {
            Ok(m) => m.centavos(),
            Err(e) => {
                errors.add("precio", e);
                return Err(errors);
            }
        };
        let mut after = self.data.clone();
        after["nombre"] = Value::from(self.nombre.trim());
        after["precio"] = Value::from(price);
        after["activo"] = Value::from(self.activo);
        let mut input = after.clone();
        if let Value::Object(map) = &mut input {
            map.retain(|k, _| PRODUCT_FIELDS.contains(&k.as_str()));
        }
        let input: ProductInput = serde_json::from_value(input).map_err(|e| {
            errors.add("nombre", format!("Producto ilegible: {e}"));
            errors.clone()
        })?;
        input.validate()?;
        Ok(["nombre", "precio", "activo"]
            .into_iter()
            .filter(|k| self.data.get(*k) != after.get(*k))
            .filter_map(|k| Some((k.to_owned(), after.get(k)?.clone())))
            .collect())
    }
}

async fn search(store: &LocalStore, query: &str) -> Vec<Shown> {
    let pending = PendingOps::of(
        PRODUCTO,
        store.outbox_of("producto").await.unwrap_or_default(),
    );
    store
        .search_products(query, RESULTS)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|data| {
            let id = Uuid::parse_str(data.get("id")?.as_str()?).ok()?;
            let version = data.get("version").and_then(Value::as_i64).unwrap_or(0);
            pending.overlaid(id, Some((data, version)))
        })
        .collect()
}

#[component]
pub fn Catalog() -> impl IntoView {
    let editor = Editor::from_context();
    let allowed = editor.may(Action::EditCatalog);
    let screen = RecordScreen::<Form>::new();
    let RecordScreen {
        query,
        results,
        form,
        errors,
        notice,
        ..
    } = screen;
    let refresh = live_search(&editor.sync, query, results, 1, |store, text| async move {
        search(&store, &text).await
    });
    let refresh_input = refresh.clone();
    let save = move |_| {
        let Some(current) = form.get_untracked() else {
            return;
        };
        let changed = match current.changes() {
            Ok(c) => c,
            Err(e) => {
                errors.set(e);
                return;
            }
        };
        errors.set(FieldErrors::new());
        if changed.is_empty() {
            screen.open(None);
            return;
        }
        let base = Some(current.version.max(1));
        let Some(change) = LocalChange::of(PRODUCTO, current.id, OpKind::Update, base, &changed)
        else {
            return;
        };
        let refresh = refresh.clone();
        editor.save(screen, change, current.nombre.trim().to_owned(), refresh);
    };

    view! {
        {move || (!allowed()).then(|| view! {
            <section class="card"><p>"El catálogo lo editan el gerente y el administrador."</p></section>
        })}
        <div class="customers" class:hidden=move || !allowed()>
            <section class="card">
                <h1>"Catálogo"</h1>
                <label class="field">
                    <span class="field__label">"Buscar"</span>
                    <input class="field__input field__input--big" type="search" autocomplete="off"
                        placeholder="Nombre, SKU o código de barras" data-testid="catalog-query"
                        prop:value=move || query.get()
                        on:input=move |ev| { query.set(event_target_value(&ev)); refresh_input(); } />
                </label>
                {move || notice.get().map(|n| view! { <p class="notice notice--ok" role="status" data-testid="catalog-notice">{n}</p> })}
                <ul class="stock__rows">
                    {move || results.get().into_iter().map(|shown| {
                        let opened = shown.clone();
                        let d = &shown.data;
                        let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                        let active = d.get("activo").and_then(Value::as_bool).unwrap_or(true);
                        view! {
                            <li>
                                <button class="result" type="button" data-testid="catalog-row"
                                    on:click=move |_| screen.open(Form::of(&opened))>
                                    <span class="result__name">{text("nombre")}</span>
                                    <span class="result__meta">
                                        {format!("{} · {} · talla {}", text("sku"), text("color"),
                                            d.get("talla").and_then(Value::as_f64).unwrap_or_default())}
                                        {(!active).then_some(" · fuera de venta")}
                                    </span>
                                    <span class="result__price">{money(d.get("precio").and_then(Value::as_i64).unwrap_or_default())}</span>
                                    {shown.pending.then(|| view! { <span class="badge">"por enviar"</span> })}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            {move || { let save = save.clone(); screen.current().map(|f| view! {
                <Modal label=format!("Producto {}", f.nombre) class="card customer-form record-dialog" testid="catalog-form"
                    on_close=Callback::new(move |()| screen.open(None))>
                    <h2>{format!("{} · {}", f.data.get("sku").and_then(Value::as_str).unwrap_or_default(), f.nombre)}</h2>
                    {screen.text_field(("Nombre", "catalog-nombre".into(), "nombre", "text"), (|f| f.nombre.clone(), |f, v| f.nombre = v), true)}
                    {screen.text_field(("Precio", "catalog-precio".into(), "precio", "decimal"), (|f| f.precio.clone(), |f, v| f.precio = v), true)}
                    <label class="field field--check">
                        <input type="checkbox" data-testid="catalog-activo"
                            prop:checked=move || form.with(|f| f.as_ref().is_some_and(|f| f.activo))
                            on:change=move |ev| { let v = event_target_checked(&ev); form.update(|f| if let Some(f) = f { f.activo = v }); } />
                        <span>"A la venta"</span>
                    </label>
                    <div class="customer__actions">
                        <button class="button button--primary" type="button" data-testid="catalog-save" on:click=save.clone()>"Guardar"</button>
                        <button class="button" type="button" on:click=move |_| screen.open(None)>"Cerrar"</button>
                    </div>
                </Modal>
            })}}
        </div>
    }
}
