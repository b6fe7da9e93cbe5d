//! The sale screen: find shoes in the device's catalog (name, SKU or a scanned barcode), build
//! the cart, take the payment, and save the sale as an op in the outbox. It is the same few
//! taps online and offline: the catalog is the local cache and the sale goes through the sync
//! engine either way.

use leptos::{ev, html, prelude::*, task::spawn_local};
use pronto_shared::{
    api::{
        approval::{self, Approval, SalesPolicy},
        customers::{Customer, CustomerInput},
        products::Product,
        sales::{folio, PaymentInput, PaymentMethod, SaleInput, SaleLineInput, ValidSale},
    },
    domain::{FieldErrors, Money},
    sync::{config, engine::LocalChange, OpKind},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{device::ThisDevice, policy, session::Session, sync_service::Sync};

const RESULTS: usize = 12;

#[derive(Debug, Clone, PartialEq)]
struct CartLine {
    product: Product,
    quantity: i64,
    /// The line's discount as typed, in percent ("" for none).
    discount: String,
}

impl CartLine {
    fn gross(&self) -> i64 {
        self.product.precio * self.quantity
    }

    /// The line's discount in centavos; an unreadable percentage counts as none here and is
    /// reported at the line when charging.
    fn discount(&self) -> i64 {
        discount_of(&self.discount, self.gross()).unwrap_or(0)
    }

    fn amount(&self) -> i64 {
        self.gross() - self.discount()
    }
}

use pronto_shared::domain::money::mxn as money;

fn products(values: Vec<Value>) -> Vec<Product> {
    values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .filter(|p: &Product| p.activo)
        .collect()
}

/// What the receipt shows; built from the cart when the sale is saved.
#[derive(Debug, Clone, PartialEq)]
struct Receipt {
    folio: String,
    store: String,
    cashier: String,
    at: String,
    lines: Vec<CartLine>,
    discount: i64,
    total: i64,
    payments: Vec<(PaymentMethod, i64)>,
    change: i64,
    customer: Option<String>,
}

/// A model's variants by colour and size, with this store's stock of each.
#[derive(Debug, Clone, PartialEq)]
struct Grid {
    name: String,
    colors: Vec<String>,
    /// Sizes in tenths (265 = 26.5).
    sizes: Vec<i64>,
    cells: Vec<(String, i64, Product, i64)>,
}

impl Grid {
    fn cell(&self, color: &str, size: i64) -> Option<(Product, i64)> {
        self.cells
            .iter()
            .find(|(c, s, _, _)| c == color && *s == size)
            .map(|(_, _, p, stock)| (p.clone(), *stock))
    }
}

fn tenths(size: f64) -> i64 {
    (size * 10.0).round() as i64
}

fn size_label(tenths: i64) -> String {
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A ticket discount typed as a percentage ("10", "12.5", "10 %") in centavos of `subtotal`;
/// the message for the field when it is not a percentage from 0 to 100.
fn discount_of(text: &str, subtotal: i64) -> Result<i64, &'static str> {
    let cleaned = text.trim().trim_end_matches('%').trim().replace(',', ".");
    if cleaned.is_empty() {
        return Ok(0);
    }
    let percent: f64 = cleaned
        .parse()
        .map_err(|_| "Escribe un porcentaje, por ejemplo 10.")?;
    if !(0.0..=100.0).contains(&percent) {
        return Err("El descuento debe ir de 0 % a 100 %.");
    }
    Ok((subtotal as f64 * percent / 100.0).round() as i64)
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pay {
    Cash,
    Card,
    /// Part by card, the rest in cash.
    Mixed,
}

/// An amount the cashier typed: empty means `default`; unreadable is an error for the field.
fn typed(text: &str, default: i64) -> Result<i64, ()> {
    if text.trim().is_empty() {
        return Ok(default);
    }
    Money::parse_mxn(text).map(Money::centavos).map_err(|_| ())
}

fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Efectivo => "Efectivo",
        PaymentMethod::Tarjeta => "Tarjeta",
    }
}

/// A sale waiting for a manager's approval of its discounts.
#[derive(Debug, Clone, PartialEq)]
struct Approving {
    input: SaleInput,
    valid: ValidSale,
    payments: Vec<(PaymentMethod, i64)>,
    rule: SalesPolicy,
}

/// What the cashier is told after an action.
#[derive(Debug, Clone, PartialEq)]
enum Notice {
    Saved(String),
    Problem(String),
}

#[component]
pub fn Sale() -> impl IntoView {
    let sync = expect_context::<Sync>();
    let device = expect_context::<ThisDevice>();
    let session = expect_context::<Session>();
    let query = RwSignal::new(String::new());
    let results: RwSignal<Vec<Product>> = RwSignal::new(Vec::new());
    let cart: RwSignal<Vec<CartLine>> = RwSignal::new(Vec::new());
    let method = RwSignal::new(Pay::Cash);
    let card_amount = RwSignal::new(String::new());
    let discount_text = RwSignal::new(String::new());
    // Errors shown at their field (`descuento`, `pagos`); nothing is queued while any is set.
    let field_errors: RwSignal<FieldErrors> = RwSignal::new(FieldErrors::new());
    // The customer attached to the sale (from the device's cache), and the search for one.
    let customer: RwSignal<Option<Customer>> = RwSignal::new(None);
    let customer_query = RwSignal::new(String::new());
    let customer_results: RwSignal<Vec<Customer>> = RwSignal::new(Vec::new());
    // A customer created here, at the till: name and phone, sent as a `clientes.Cliente`
    // create before the sale that names her.
    let creating_customer = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let new_phone = RwSignal::new(String::new());
    let customer_errors: RwSignal<FieldErrors> = RwSignal::new(FieldErrors::new());
    let received = RwSignal::new(String::new());
    let notice: RwSignal<Option<Notice>> = RwSignal::new(None);
    let receipt: RwSignal<Option<Receipt>> = RwSignal::new(None);
    let grid: RwSignal<Option<Grid>> = RwSignal::new(None);
    let saving = RwSignal::new(false);
    let approving: RwSignal<Option<Approving>> = RwSignal::new(None);
    let approver: RwSignal<Option<Uuid>> = RwSignal::new(None);
    let approval_pin = RwSignal::new(String::new());
    let approval_error: RwSignal<Option<String>> = RwSignal::new(None);
    // The discount rule as the server has it now, for when the connection goes.
    if let Some(profile) = session.profile_untracked() {
        spawn_local(async move {
            policy::refresh(profile.tienda.id).await;
        });
    }
    let search_box = NodeRef::<html::Input>::new();
    // Answers of older searches arriving late must not replace newer ones.
    let search_no = StoredValue::new(0_u64);

    let add = move |product: Product| {
        cart.update(
            |lines| match lines.iter_mut().find(|l| l.product.id == product.id) {
                Some(line) => line.quantity += 1,
                None => lines.push(CartLine {
                    product,
                    quantity: 1,
                    discount: String::new(),
                }),
            },
        );
        query.set(String::new());
        results.set(Vec::new());
        notice.set(None);
        if let Some(input) = search_box.get_untracked() {
            let _ = input.focus();
        }
    };

    // The size × colour grid of a product's model, with this store's stock per cell.
    let sync_grid = sync.clone();
    let open_grid = move |product: Product| {
        let Some(store) = sync_grid.store() else {
            return;
        };
        spawn_local(async move {
            let variants: Vec<Product> = products(
                store
                    .search_products(&product.nombre, 1_000)
                    .await
                    .unwrap_or_default(),
            )
            .into_iter()
            .filter(|p| p.nombre == product.nombre && p.marca == product.marca)
            .collect();
            let ids: Vec<Uuid> = variants.iter().map(|p| p.id).collect();
            let stock = store
                .cached_many(config::EXISTENCIA, &ids)
                .await
                .unwrap_or_default();
            let mut colors: Vec<String> = variants.iter().map(|p| p.color.clone()).collect();
            colors.sort();
            colors.dedup();
            let mut sizes: Vec<i64> = variants.iter().map(|p| tenths(p.talla)).collect();
            sizes.sort_unstable();
            sizes.dedup();
            let cells = variants
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let quantity = stock
                        .get(i)
                        .and_then(Option::as_ref)
                        .and_then(|s| s.get("cantidad"))
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    (p.color.clone(), tenths(p.talla), p, quantity)
                })
                .collect();
            grid.set(Some(Grid {
                name: product.nombre.clone(),
                colors,
                sizes,
                cells,
            }));
        });
    };

    let sync_customers = sync.clone();
    let on_customer_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        customer_query.set(text.clone());
        let Some(store) = sync_customers.store() else {
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

    let sync_search = sync.clone();
    let on_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        let Some(store) = sync_search.store() else {
            return;
        };
        search_no.update_value(|n| *n += 1);
        let mine = search_no.get_value();
        spawn_local(async move {
            let found = if text.trim().is_empty() {
                Vec::new()
            } else {
                products(
                    store
                        .search_products(&text, RESULTS)
                        .await
                        .unwrap_or_default(),
                )
            };
            if search_no.get_value() == mine {
                results.set(found);
            }
        });
    };

    // A keyboard-wedge scanner types the digits and Enter: a 13-digit code adds its product at
    // once; otherwise Enter takes the only result.
    let sync_scan = sync.clone();
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        ev.prevent_default();
        let text = query.get_untracked().trim().to_owned();
        if text.len() == 13 && text.chars().all(|c| c.is_ascii_digit()) {
            let sync = sync_scan.clone();
            spawn_local(async move {
                let Some(store) = sync.opened_store().await else {
                    notice.set(Some(Notice::Problem(
                        "El almacenamiento del dispositivo no abrió: recarga la página.".into(),
                    )));
                    return;
                };
                match store.product_by_barcode(&text).await {
                    Ok(Some(value)) => match serde_json::from_value::<Product>(value) {
                        Ok(product) => add(product),
                        Err(_) => notice.set(Some(Notice::Problem(format!(
                            "El código {text} no se pudo leer."
                        )))),
                    },
                    _ => notice.set(Some(Notice::Problem(format!(
                        "No hay ningún producto con el código {text}."
                    )))),
                }
            });
        } else if let [only] = results.get_untracked().as_slice() {
            add(only.clone());
        }
    };

    let subtotal = move || cart.with(|lines| lines.iter().map(CartLine::amount).sum::<i64>());
    let discount = move || discount_of(&discount_text.get(), subtotal()).unwrap_or(0);
    let total = move || subtotal() - discount();
    let cash_received = move || Money::parse_mxn(&received.get()).ok().map(Money::centavos);
    let change_due = move || {
        let card = match method.get() {
            Pay::Mixed => typed(&card_amount.get(), 0).ok()?,
            _ => 0,
        };
        let due = total() - card;
        match (method.get(), cash_received()) {
            (Pay::Cash | Pay::Mixed, Some(paid)) if paid >= due => Some(paid - due),
            _ => None,
        }
    };

    let sync_customer = sync.clone();
    let save_customer = move |_| {
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
        let phone = valid.phone.map(|p| p.as_str().to_owned());
        let mut fields = serde_json::json!({ "nombre": valid.name });
        if let Some(phone) = &phone {
            fields["telefono"] = phone.clone().into();
        }
        let Some(change) = LocalChange::of(config::CLIENTE, id, OpKind::Create, None, &fields)
        else {
            return;
        };
        let sync = sync_customer.clone();
        spawn_local(async move {
            match sync.record(change, &device, &profile).await {
                Ok(_) => {
                    customer.set(Some(Customer {
                        id,
                        nombre: valid.name,
                        telefono: phone,
                        email: None,
                        rfc: None,
                        puntos: 0,
                        notas: String::new(),
                        version: 0,
                    }));
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
    };

    let sync_record = sync.clone();
    let record_sale =
        move |input: SaleInput, valid: ValidSale, payments: Vec<(PaymentMethod, i64)>| {
            let (Some(device), Some(profile)) =
                (device.device.get_untracked(), session.profile_untracked())
            else {
                return;
            };
            let Some(change) = LocalChange::of(config::VENTA, input.id, OpKind::Sale, None, &input)
            else {
                return;
            };
            saving.set(true);
            // A problem of an earlier try is not this one's answer.
            notice.set(None);
            let sync = sync_record.clone();
            spawn_local(async move {
                match sync.record(change, &device, &profile).await {
                    Ok(op) => {
                        notice.set(Some(Notice::Saved(format!(
                            "Venta guardada: {} · cambio {}",
                            money(valid.total.centavos()),
                            money(valid.change.centavos())
                        ))));
                        receipt.set(Some(Receipt {
                            folio: folio(&profile.tienda.codigo, &device.codigo, op.body.seq),
                            store: profile.tienda.nombre.clone(),
                            cashier: profile.nombre.clone(),
                            at: crate::local_time::now(),
                            lines: cart.get_untracked(),
                            discount: valid.discount.centavos(),
                            total: valid.total.centavos(),
                            payments: payments.clone(),
                            customer: customer.get_untracked().map(|c| c.nombre),
                            change: valid.change.centavos(),
                        }));
                        cart.set(Vec::new());
                        received.set(String::new());
                        card_amount.set(String::new());
                        discount_text.set(String::new());
                        method.set(Pay::Cash);
                        customer.set(None);
                        customer_query.set(String::new());
                        customer_results.set(Vec::new());
                    }
                    Err(err) => notice.set(Some(Notice::Problem(format!(
                        "No se pudo guardar la venta en el dispositivo: {err}"
                    )))),
                }
                saving.set(false);
                if let Some(input) = search_box.get_untracked() {
                    let _ = input.focus();
                }
            });
        };
    let record_approved = record_sale.clone();

    let charge = move |_| {
        if saving.get_untracked() {
            return;
        }
        let (Some(_), Some(profile)) = (device.device.get_untracked(), session.profile_untracked())
        else {
            notice.set(Some(Notice::Problem(
                "Registra este dispositivo en su tienda antes de vender.".into(),
            )));
            return;
        };
        let mut line_errors = FieldErrors::new();
        for (i, line) in cart.get_untracked().iter().enumerate() {
            if let Err(message) = discount_of(&line.discount, line.gross()) {
                line_errors.add(format!("lineas[{i}].descuento"), message);
            }
        }
        if !line_errors.is_empty() {
            field_errors.set(line_errors);
            return;
        }
        let descuento = match discount_of(&discount_text.get_untracked(), subtotal()) {
            Ok(d) => d,
            Err(message) => {
                let mut errors = FieldErrors::new();
                errors.add("descuento", message);
                field_errors.set(errors);
                return;
            }
        };
        let total = subtotal() - descuento;
        let bad_amount = |what: &str| {
            let mut errors = FieldErrors::new();
            errors.add("pagos", format!("Escribe {what} como 1500 o 1,500.00."));
            field_errors.set(errors);
        };
        let payments: Vec<(PaymentMethod, i64)> = match method.get_untracked() {
            Pay::Card => vec![(PaymentMethod::Tarjeta, total)],
            Pay::Cash => match typed(&received.get_untracked(), total) {
                Ok(cash) => vec![(PaymentMethod::Efectivo, cash)],
                Err(()) => return bad_amount("el efectivo recibido"),
            },
            Pay::Mixed => {
                let Ok(card) = typed(&card_amount.get_untracked(), 0) else {
                    return bad_amount("el importe con tarjeta");
                };
                let Ok(cash) = typed(&received.get_untracked(), total - card) else {
                    return bad_amount("el efectivo recibido");
                };
                vec![
                    (PaymentMethod::Tarjeta, card),
                    (PaymentMethod::Efectivo, cash),
                ]
            }
        };
        let input = SaleInput {
            id: Uuid::now_v7(),
            lineas: cart.with_untracked(|lines| {
                lines
                    .iter()
                    .map(|l| SaleLineInput {
                        producto_id: l.product.id,
                        cantidad: l.quantity,
                        precio_unitario: l.product.precio,
                        descuento: l.discount(),
                    })
                    .collect()
            }),
            pagos: payments
                .iter()
                .map(|(metodo, monto)| PaymentInput {
                    metodo: *metodo,
                    monto: *monto,
                })
                .collect(),
            cliente_id: customer.get_untracked().map(|c| c.id),
            descuento,
            autorizacion: None,
        };
        let valid = match input.validate() {
            Ok(valid) => valid,
            Err(errors) => {
                if errors.get("pagos").is_none() && errors.get("descuento").is_none() {
                    notice.set(Some(Notice::Problem(errors.to_string())));
                }
                field_errors.set(errors);
                return;
            }
        };
        field_errors.set(FieldErrors::new());
        let rule = policy::stored(profile.tienda.id);
        if approval::needs_approval(&valid, rule.descuento_sin_autorizacion) {
            approver.set(rule.autorizadores.first().map(|a| a.id));
            approval_pin.set(String::new());
            approval_error.set(None);
            approving.set(Some(Approving {
                input,
                valid,
                payments,
                rule,
            }));
            return;
        }
        record_sale(input, valid, payments);
    };

    // The manager types their PIN on this till: the key it unlocks signs this sale's discount.
    let approve = move |_| {
        let Some(mut pending) = approving.get_untracked() else {
            return;
        };
        let chosen = approver.get_untracked();
        let Some(manager) = pending
            .rule
            .autorizadores
            .iter()
            .find(|a| Some(a.id) == chosen)
        else {
            approval_error.set(Some("Elige quién autoriza.".into()));
            return;
        };
        let Some(key) = manager.unlock(approval_pin.get_untracked().trim()) else {
            approval_error.set(Some("PIN incorrecto.".into()));
            return;
        };
        let discount = approval::discount_of(&pending.valid);
        pending.input.autorizacion = Some(Approval {
            gerente_id: manager.id,
            firma: approval::sign(&key, pending.input.id, manager.id, discount),
        });
        approving.set(None);
        record_approved(pending.input, pending.valid, pending.payments);
    };
    view! {
        <div class="sale">
            <section class="sale__find card">
                <label class="field">
                    <span class="field__label">"Buscar o escanear"</span>
                    <input
                        class="field__input field__input--big"
                        type="search"
                        inputmode="search"
                        autocomplete="off"
                        placeholder="Nombre, SKU o código de barras"
                        data-testid="product-search"
                        node_ref=search_box
                        autofocus
                        prop:value=move || query.get()
                        on:input=on_input
                        on:keydown=on_key
                    />
                </label>
                <ul class="results" data-testid="search-results">
                    <For
                        each=move || results.get()
                        key=|p| p.id
                        children=move |p: Product| {
                            let chosen = p.clone();
                            let model = p.clone();
                            let open_grid = open_grid.clone();
                            view! {
                                <li class="result-row">
                                    <button class="result" type="button" on:click=move |_| add(chosen.clone())>
                                        <span class="result__name">{p.nombre.clone()}</span>
                                        <span class="result__meta">
                                            {format!("{} · {} · talla {}", p.sku, p.color, p.talla)}
                                        </span>
                                        <span class="result__price">{money(p.precio)}</span>
                                    </button>
                                    <button class="button result__grid" type="button" data-testid="open-grid"
                                        aria-label="Ver tallas y colores" on:click=move |_| open_grid(model.clone())>
                                        "Tallas"
                                    </button>
                                </li>
                            }
                        }
                    />
                </ul>
            </section>
            <section class="sale__cart card" data-testid="cart">
                <header class="sale__head">
                    <h2>"Venta"</h2>
                    <a class="button" href="/devolucion" data-testid="go-return">"Devolución"</a>
                </header>
                {move || cart.with(Vec::is_empty).then(|| view! {
                    <p class="muted">"Escanea o busca un producto para empezar."</p>
                })}
                <ul class="cart">
                    <For
                        each=move || cart.get().into_iter().enumerate()
                        key=|(i, l)| (*i, l.product.id, l.quantity, l.discount.clone())
                        children=move |(index, line): (usize, CartLine)| {
                            let id = line.product.id;
                            let bump = move |delta: i64| cart.update(|lines| {
                                if let Some(l) = lines.iter_mut().find(|l| l.product.id == id) {
                                    l.quantity = (l.quantity + delta).max(1);
                                }
                            });
                            view! {
                                <li class="cart__line" data-testid="cart-line">
                                    <span class="cart__name">
                                        {line.product.nombre.clone()}
                                        <span class="muted">{format!(" · talla {}", line.product.talla)}</span>
                                    </span>
                                    <span class="cart__qty">
                                        <button class="button button--round" type="button" aria-label="Quitar uno" on:click=move |_| bump(-1)>"−"</button>
                                        <span data-testid="cart-qty">{line.quantity}</span>
                                        <button class="button button--round" type="button" aria-label="Agregar uno" on:click=move |_| bump(1)>"+"</button>
                                    </span>
                                    <span class="cart__amount">{money(line.amount())}</span>
                                    <label class="cart__discount">
                                        <span class="field__label">"Desc. %"</span>
                                        <input class="field__input" inputmode="decimal" placeholder="0" data-testid="line-discount"
                                            aria-invalid=move || field_errors.with(|e| e.get(&format!("lineas[{index}].descuento")).is_some()).to_string()
                                            prop:value=line.discount.clone()
                                            on:change=move |ev| {
                                                let text = event_target_value(&ev);
                                                cart.update(|lines| if let Some(l) = lines.iter_mut().find(|l| l.product.id == id) { l.discount = text });
                                            } />
                                    </label>
                                    {move || field_errors.with(|e| e.get(&format!("lineas[{index}].descuento")).map(str::to_owned)).map(|m| view! {
                                        <span class="field__error cart__error" role="alert" data-testid="line-discount-error">{m}</span>
                                    })}
                                    <button class="button button--ghost-dark" type="button" aria-label="Quitar de la venta"
                                        on:click=move |_| cart.update(|lines| lines.retain(|l| l.product.id != id))>
                                        "Quitar"
                                    </button>
                                </li>
                            }
                        }
                    />
                </ul>
                <div class="customer" data-testid="sale-customer">
                    {move || match customer.get() {
                        Some(c) => view! {
                            <p class="customer__chosen">
                                <span>{format!("Cliente: {}", c.nombre)}</span>
                                <button class="button--ghost-dark" type="button" on:click=move |_| customer.set(None)>"Quitar"</button>
                            </p>
                        }.into_any(),
                        None => { let save_customer = save_customer.clone(); view! {
                            <label class="field">
                                <span class="field__label">"Cliente (opcional)"</span>
                                <input class="field__input" autocomplete="off" placeholder="Nombre o teléfono"
                                    data-testid="customer-search"
                                    prop:value=move || customer_query.get()
                                    on:input=on_customer_input.clone() />
                            </label>
                            {move || if creating_customer.get() {
                                view! {
                                    <div class="customer__new" data-testid="new-customer">
                                        <label class="field">
                                            <span class="field__label">"Nombre del cliente"</span>
                                            <input class="field__input" autocomplete="off" data-testid="new-customer-name"
                                                aria-invalid=move || customer_errors.with(|e| e.get("nombre").is_some()).to_string()
                                                prop:value=move || new_name.get()
                                                on:input=move |ev| new_name.set(event_target_value(&ev)) />
                                            {move || customer_errors.with(|e| e.get("nombre").map(str::to_owned)).map(|m| view! {
                                                <span class="field__error" role="alert">{m}</span>
                                            })}
                                        </label>
                                        <label class="field">
                                            <span class="field__label">"Teléfono (opcional)"</span>
                                            <input class="field__input" inputmode="tel" autocomplete="off" data-testid="new-customer-phone"
                                                aria-invalid=move || customer_errors.with(|e| e.get("telefono").is_some()).to_string()
                                                prop:value=move || new_phone.get()
                                                on:input=move |ev| new_phone.set(event_target_value(&ev)) />
                                            {move || customer_errors.with(|e| e.get("telefono").map(str::to_owned)).map(|m| view! {
                                                <span class="field__error" role="alert">{m}</span>
                                            })}
                                        </label>
                                        <div class="customer__actions">
                                            <button class="button button--primary" type="button" data-testid="save-customer"
                                                on:click=save_customer.clone()>"Guardar cliente"</button>
                                            <button class="button" type="button"
                                                on:click=move |_| { creating_customer.set(false); customer_errors.set(FieldErrors::new()); }>
                                                "Cancelar"
                                            </button>
                                        </div>
                                    </div>
                                }.into_any()
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
                <label class="field">
                    <span class="field__label">"Descuento (%)"</span>
                    <input class="field__input" inputmode="decimal" placeholder="0" data-testid="discount"
                        aria-invalid=move || field_errors.with(|e| e.get("descuento").is_some()).to_string()
                        prop:value=move || discount_text.get()
                        on:input=move |ev| discount_text.set(event_target_value(&ev)) />
                    {move || field_errors.with(|e| e.get("descuento").map(str::to_owned)).map(|m| view! {
                        <span class="field__error" role="alert" data-testid="discount-error">{m}</span>
                    })}
                </label>
                {move || (discount() > 0).then(|| view! {
                    <p class="receipt__row"><span>"Subtotal"</span><span>{money(subtotal())}</span></p>
                    <p class="receipt__row"><span>"Descuento"</span><span>{format!("-{}", money(discount()))}</span></p>
                })}
                <p class="sale__total">
                    <span>"Total"</span>
                    <strong data-testid="sale-total">{move || money(total())}</strong>
                </p>
                <div class="pay" role="radiogroup" aria-label="Forma de pago">
                    <button type="button" class="pay__option" data-testid="pay-cash"
                        aria-pressed=move || (method.get() == Pay::Cash).to_string()
                        on:click=move |_| method.set(Pay::Cash)>"Efectivo"</button>
                    <button type="button" class="pay__option" data-testid="pay-card"
                        aria-pressed=move || (method.get() == Pay::Card).to_string()
                        on:click=move |_| method.set(Pay::Card)>"Tarjeta"</button>
                    <button type="button" class="pay__option" data-testid="pay-mixed"
                        aria-pressed=move || (method.get() == Pay::Mixed).to_string()
                        on:click=move |_| method.set(Pay::Mixed)>"Mixto"</button>
                </div>
                {move || (method.get() == Pay::Mixed).then(|| view! {
                    <label class="field">
                        <span class="field__label">"Con tarjeta"</span>
                        <input class="field__input" inputmode="decimal" data-testid="card-amount"
                            prop:value=move || card_amount.get()
                            on:input=move |ev| card_amount.set(event_target_value(&ev)) />
                    </label>
                })}
                {move || (method.get() != Pay::Card).then(|| view! {
                    <label class="field">
                        <span class="field__label">"Efectivo recibido"</span>
                        <input class="field__input" inputmode="decimal" data-testid="cash-received"
                            placeholder=move || money(total())
                            prop:value=move || received.get()
                            on:input=move |ev| received.set(event_target_value(&ev)) />
                    </label>
                    <p class="sale__change">
                        "Cambio: " <strong data-testid="change-due">{move || change_due().map(money).unwrap_or_else(|| "—".into())}</strong>
                    </p>
                })}
                {move || field_errors.with(|e| e.get("pagos").map(str::to_owned)).map(|m| view! {
                    <p class="field__error" role="alert" data-testid="payment-error">{m}</p>
                })}
                <button class="button button--primary button--block" type="button" data-testid="charge"
                    disabled=move || cart.with(Vec::is_empty) || saving.get()
                    on:click=charge>
                    {move || if saving.get() { "Guardando…".to_owned() } else { format!("Cobrar {}", money(total())) }}
                </button>
                {move || notice.get().map(|n| match n {
                    Notice::Saved(text) => view! { <p class="notice notice--ok" role="status" data-testid="sale-saved">{text}</p> }.into_any(),
                    Notice::Problem(text) => view! { <p class="notice notice--bad" role="alert" data-testid="sale-problem">{text}</p> }.into_any(),
                })}
            </section>
        </div>
        {move || grid.get().map(|g| {
            let sizes = g.sizes.clone();
            let rows = g.colors.clone();
            view! {
                <div class="receipt-backdrop">
                    <section class="grid card" role="dialog" aria-label="Tallas y colores" data-testid="size-grid">
                        <header class="grid__head">
                            <h2>{g.name.clone()}</h2>
                            <button class="button" type="button" on:click=move |_| grid.set(None)>"Cerrar"</button>
                        </header>
                        <p class="muted">"Existencias de esta tienda. Toca una talla para agregarla a la venta."</p>
                        <div class="grid__scroll">
                            <table class="grid__table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Color / talla"</th>
                                        {sizes.iter().map(|s| view! { <th scope="col">{size_label(*s)}</th> }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|color| {
                                        let cells = sizes.iter().map(|size| match g.cell(&color, *size) {
                                            Some((product, stock)) => {
                                                let class = if stock <= 0 { "grid__cell grid__cell--out" } else { "grid__cell" };
                                                view! {
                                                    <td>
                                                        <button class=class type="button" data-testid="grid-cell"
                                                            data-product=product.id.to_string() data-stock=stock.to_string()
                                                            aria-label=format!("{} talla {}: {} en existencia", product.color, size_label(*size), stock)
                                                            on:click=move |_| { add(product.clone()); grid.set(None); }>
                                                            {stock}
                                                        </button>
                                                    </td>
                                                }.into_any()
                                            }
                                            None => view! { <td class="grid__none">"—"</td> }.into_any(),
                                        }).collect_view();
                                        view! { <tr><th scope="row">{color.clone()}</th>{cells}</tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </section>
                </div>
            }
        })}
        {move || approving.get().map(|pending| {
            let percent = {
                let gross: i64 = pending.valid.lines.iter().map(|l| l.amount.centavos() + l.discount.centavos()).sum();
                if gross > 0 { approval::discount_of(&pending.valid) as f64 * 100.0 / gross as f64 } else { 0.0 }
            };
            let approve = approve.clone();
            view! {
                <div class="receipt-backdrop">
                    <section class="receipt card approval" role="dialog" aria-label="Autorización del gerente" data-testid="approval">
                        <h2>"Autorización del gerente"</h2>
                        <p>{format!(
                            "El descuento de {} ({:.1} %) pasa el límite de {} % de la tienda.",
                            money(approval::discount_of(&pending.valid)), percent, pending.rule.descuento_sin_autorizacion,
                        )}</p>
                        {if pending.rule.autorizadores.is_empty() {
                            view! {
                                <p class="notice notice--bad" role="alert" data-testid="approval-none">
                                    "Ningún gerente tiene PIN de autorización en este dispositivo. Conéctate una vez después de que el gerente registre su PIN, o quita el descuento."
                                </p>
                            }.into_any()
                        } else {
                            view! {
                                <div class="pay" role="radiogroup" aria-label="Quién autoriza">
                                    {pending.rule.autorizadores.iter().map(|a| {
                                        let id = a.id;
                                        view! {
                                            <button type="button" class="pay__option" data-testid="approver"
                                                aria-pressed=move || (approver.get() == Some(id)).to_string()
                                                on:click=move |_| approver.set(Some(id))>{a.nombre.clone()}</button>
                                        }
                                    }).collect_view()}
                                </div>
                                <label class="field">
                                    <span class="field__label">"PIN del gerente"</span>
                                    <input class="field__input field__input--big" type="password" inputmode="numeric" autocomplete="off"
                                        data-testid="approval-pin" autofocus
                                        prop:value=move || approval_pin.get()
                                        on:input=move |ev| approval_pin.set(event_target_value(&ev)) />
                                    {move || approval_error.get().map(|m| view! {
                                        <span class="field__error" role="alert" data-testid="approval-error">{m}</span>
                                    })}
                                </label>
                            }.into_any()
                        }}
                        <div class="receipt__actions">
                            <button class="button button--primary" type="button" data-testid="approve"
                                disabled=pending.rule.autorizadores.is_empty()
                                on:click=approve>"Autorizar y cobrar"</button>
                            <button class="button" type="button" on:click=move |_| approving.set(None)>"Volver"</button>
                        </div>
                    </section>
                </div>
            }
        })}
        {move || receipt.get().map(|r| view! {
            <ReceiptView
                receipt=r
                on_close=move || {
                    receipt.set(None);
                    if let Some(input) = search_box.get_untracked() {
                        let _ = input.focus();
                    }
                }
            />
        })}
    }
}

/// The ticket: on screen after a sale, and alone on paper (80 mm) when printed.
#[component]
fn ReceiptView(receipt: Receipt, on_close: impl Fn() + 'static) -> impl IntoView {
    let print = |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        <div class="receipt-backdrop">
            <section class="receipt card" role="dialog" aria-label="Ticket de venta" data-testid="receipt">
                <header class="receipt__head">
                    <strong>"Pronto Zapaterías"</strong>
                    <span>{receipt.store.clone()}</span>
                    <span data-testid="receipt-folio">{format!("Folio {}", receipt.folio)}</span>
                    <span>{receipt.at.clone()}</span>
                    <span>{format!("Le atendió: {}", receipt.cashier)}</span>
                </header>
                <ul class="receipt__lines">
                    {receipt.lines.iter().map(|l| view! {
                        <li>
                            <span>{format!("{} × {} (talla {})", l.quantity, l.product.nombre, l.product.talla)}</span>
                            <span>{money(l.amount())}</span>
                        </li>
                    }).collect_view()}
                </ul>
                {(receipt.discount > 0).then(|| view! {
                    <p class="receipt__row"><span>"Descuento"</span><span>{format!("-{}", money(receipt.discount))}</span></p>
                })}
                <p class="receipt__row receipt__total"><span>"Total"</span><span>{money(receipt.total)}</span></p>
                {receipt.payments.iter().map(|(m, amount)| view! {
                    <p class="receipt__row"><span>{method_label(*m)}</span><span>{money(*amount)}</span></p>
                }).collect_view()}
                <p class="receipt__row"><span>"Cambio"</span><span>{money(receipt.change)}</span></p>
                {receipt.customer.clone().map(|name| view! { <p class="receipt__row"><span>"Cliente"</span><span>{name}</span></p> })}
                <p class="receipt__thanks">"¡Gracias por su compra!"</p>
                <div class="receipt__actions">
                    <button class="button button--primary" type="button" on:click=print>"Imprimir"</button>
                    <button class="button" type="button" data-testid="new-sale" on:click=move |_| on_close()>"Nueva venta"</button>
                </div>
            </section>
        </div>
    }
}
