//! The sale screen: find shoes in the device's catalog (name, SKU or a scanned barcode), build
//! the cart, take the payment, and save the sale as an op in the outbox. It is the same few
//! taps online and offline: the catalog is the local cache and the sale goes through the sync
//! engine either way.
//!
//! One component per concern over one state ([`SaleState`], every field a signal, so it is
//! `Copy` and each part takes what it needs): `search.rs` (search box, scans, results),
//! `cart.rs` (the lines), `customer.rs` (find or create the customer), `payment.rs` (discount,
//! totals, how it is paid), `checkout.rs` (charge, approval, recording), `grid.rs` (sizes ×
//! colours), `approval.rs` (the manager's PIN) and `receipt.rs` (the ticket).

use leptos::{html, prelude::*, task::spawn_local};
use pronto_shared::{
    api::{customers::Customer, products::Product},
    domain::{FieldErrors, Money},
};
use uuid::Uuid;

use crate::{policy, session::Session};

mod approval;
mod cart;
mod checkout;
mod customer;
mod grid;
mod model;
mod payment;
mod receipt;
mod search;

use model::{discount_of, typed, Approving, CartLine, Grid, Notice, Pay, Receipt};

/// Everything the sale screen holds while a sale is made.
#[derive(Clone, Copy)]
pub(super) struct SaleState {
    query: RwSignal<String>,
    results: RwSignal<Vec<Product>>,
    cart: RwSignal<Vec<CartLine>>,
    method: RwSignal<Pay>,
    card_amount: RwSignal<String>,
    discount_text: RwSignal<String>,
    /// Errors shown at their field (`descuento`, `pagos`); nothing is queued while any is set.
    field_errors: RwSignal<FieldErrors>,
    /// The customer attached to the sale (from the device's cache), and the search for one.
    customer: RwSignal<Option<Customer>>,
    customer_query: RwSignal<String>,
    customer_results: RwSignal<Vec<Customer>>,
    /// A customer created here, at the till: name and phone, sent as a `clientes.Cliente`
    /// create before the sale that names her.
    creating_customer: RwSignal<bool>,
    new_name: RwSignal<String>,
    new_phone: RwSignal<String>,
    customer_errors: RwSignal<FieldErrors>,
    received: RwSignal<String>,
    notice: RwSignal<Option<Notice>>,
    receipt: RwSignal<Option<Receipt>>,
    grid: RwSignal<Option<Grid>>,
    saving: RwSignal<bool>,
    approving: RwSignal<Option<Approving>>,
    approver: RwSignal<Option<Uuid>>,
    approval_pin: RwSignal<String>,
    approval_error: RwSignal<Option<String>>,
    search_box: NodeRef<html::Input>,
    /// Answers of older searches arriving late must not replace newer ones.
    search_no: StoredValue<u64>,
}

impl SaleState {
    fn new() -> Self {
        Self {
            query: RwSignal::new(String::new()),
            results: RwSignal::new(Vec::new()),
            cart: RwSignal::new(Vec::new()),
            method: RwSignal::new(Pay::Cash),
            card_amount: RwSignal::new(String::new()),
            discount_text: RwSignal::new(String::new()),
            field_errors: RwSignal::new(FieldErrors::new()),
            customer: RwSignal::new(None),
            customer_query: RwSignal::new(String::new()),
            customer_results: RwSignal::new(Vec::new()),
            creating_customer: RwSignal::new(false),
            new_name: RwSignal::new(String::new()),
            new_phone: RwSignal::new(String::new()),
            customer_errors: RwSignal::new(FieldErrors::new()),
            received: RwSignal::new(String::new()),
            notice: RwSignal::new(None),
            receipt: RwSignal::new(None),
            grid: RwSignal::new(None),
            saving: RwSignal::new(false),
            approving: RwSignal::new(None),
            approver: RwSignal::new(None),
            approval_pin: RwSignal::new(String::new()),
            approval_error: RwSignal::new(None),
            search_box: NodeRef::new(),
            search_no: StoredValue::new(0),
        }
    }

    /// One more pair of `product` in the cart; the search is cleared for the next scan.
    fn add(self, product: Product) {
        self.cart.update(
            |lines| match lines.iter_mut().find(|l| l.product.id == product.id) {
                Some(line) => line.quantity += 1,
                None => lines.push(CartLine {
                    product,
                    quantity: 1,
                    discount: String::new(),
                }),
            },
        );
        self.query.set(String::new());
        self.results.set(Vec::new());
        self.notice.set(None);
        self.focus_search();
    }

    fn focus_search(self) {
        if let Some(input) = self.search_box.get_untracked() {
            let _ = input.focus();
        }
    }

    fn subtotal(self) -> i64 {
        self.cart
            .with(|lines| lines.iter().map(CartLine::amount).sum::<i64>())
    }

    fn discount(self) -> i64 {
        discount_of(&self.discount_text.get(), self.subtotal()).unwrap_or(0)
    }

    fn total(self) -> i64 {
        self.subtotal() - self.discount()
    }

    /// The change to hand back, once the cash received covers what cash must pay.
    fn change_due(self) -> Option<i64> {
        let card = match self.method.get() {
            Pay::Mixed => typed(&self.card_amount.get(), 0).ok()?,
            _ => 0,
        };
        let due = self.total() - card;
        let cash = Money::parse_mxn(&self.received.get())
            .ok()
            .map(Money::centavos);
        match (self.method.get(), cash) {
            (Pay::Cash | Pay::Mixed, Some(paid)) if paid >= due => Some(paid - due),
            _ => None,
        }
    }

    /// A new, empty sale after one was recorded.
    fn clear(self) {
        self.cart.set(Vec::new());
        self.received.set(String::new());
        self.card_amount.set(String::new());
        self.discount_text.set(String::new());
        self.method.set(Pay::Cash);
        self.customer.set(None);
        self.customer_query.set(String::new());
        self.customer_results.set(Vec::new());
    }
}

#[component]
pub fn Sale() -> impl IntoView {
    let session = expect_context::<Session>();
    let state = SaleState::new();
    // The discount rule as the server has it now, for when the connection goes.
    if let Some(profile) = session.profile_untracked() {
        spawn_local(async move {
            policy::refresh(profile.tienda.id).await;
        });
    }
    view! {
        <div class="sale">
            <search::Search state=state />
            <section class="sale__cart card" data-testid="cart">
                <cart::CartLines state=state />
                <customer::CustomerPicker state=state />
                <payment::Payment state=state />
            </section>
        </div>
        <grid::SizeGrid state=state />
        <approval::ApprovalDialog state=state />
        {move || state.receipt.get().map(|r| view! {
            <receipt::ReceiptView
                receipt=r
                on_close=move || {
                    state.receipt.set(None);
                    state.focus_search();
                }
            />
        })}
    }
}
