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

use send_wrapper::SendWrapper;

use crate::{policy, scanner::Scanner, session::Session, sync_service::Sync};

mod approval;
mod cart;
mod checkout;
mod customer;
mod grid;
mod model;
mod payment;
mod receipt;
mod scan;
mod search;

use model::{discount_of, typed, Approving, CartLine, Grid, Notice, Pay, Receipt};

/// Everything the sale screen holds while a sale is made.
#[derive(Clone, Copy)]
pub(super) struct SaleState {
    query: RwSignal<String>,
    /// The variants the search found (shown grouped by model).
    results: RwSignal<Vec<Product>>,
    /// The last search found nothing.
    no_results: RwSignal<bool>,
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
    /// Codes scanned while the receipt or the approval was open, added when it closes.
    waiting: RwSignal<Vec<String>>,
    /// A scanned code the catalog does not know, said next to the search box.
    scan_problem: RwSignal<Option<String>>,
    /// The cashier's choice: a scan on the receipt closes it into the next sale.
    scan_closes_receipt: RwSignal<bool>,
    /// Answers of older searches arriving late must not replace newer ones.
    search_no: StoredValue<u64>,
}

impl SaleState {
    fn new() -> Self {
        Self {
            query: RwSignal::new(String::new()),
            results: RwSignal::new(Vec::new()),
            no_results: RwSignal::new(false),
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
            waiting: RwSignal::new(Vec::new()),
            scan_problem: RwSignal::new(None),
            scan_closes_receipt: RwSignal::new(scan::scan_closes_receipt()),
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
        self.no_results.set(false);
        self.notice.set(None);
        self.scan_problem.set(None);
        if self.focus_is_free() {
            self.focus_search();
        }
    }

    /// Whether focus may go back to the search box: not while the cashier is typing in another
    /// field (a scan while she types the cash must not take the field away from her).
    fn focus_is_free(self) -> bool {
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let search: Option<web_sys::Element> = self.search_box.get_untracked().map(Into::into);
        match active {
            None => true,
            Some(e) => {
                Some(&e) == search.as_ref()
                    || !matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA")
            }
        }
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
    let sync = expect_context::<Sync>();
    let state = SaleState::new();
    let scanning = sync.clone();
    let scanner = Scanner::listen(move |code| scan::route(state, scanning.clone(), code));
    let scanner = SendWrapper::new(scanner);
    on_cleanup(move || drop(scanner));
    scan::release_waiting(state, sync);
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
                <div class="sale__pay">
                    <customer::CustomerPicker state=state />
                    <payment::Payment state=state />
                </div>
            </section>
        </div>
        <grid::SizeGrid state=state />
        <approval::ApprovalDialog state=state />
        <receipt::ReceiptDialog state=state />
    }
}
