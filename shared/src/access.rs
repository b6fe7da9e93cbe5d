//! Who may do what, where. The one place the access rules are written; the server checks them
//! on every request and on every synced op at apply time, and the browser uses them only to
//! hide what a person cannot do (never as protection).
//!
//! | action | cajero | gerente | admin |
//! |---|---|---|---|
//! | read catalog, read customers, create customers | yes | yes | yes |
//! | read stock, create sales, look up one sale (receipt, return) | own store | own store | any store |
//! | edit catalog (products, prices), edit customers | no | yes | yes |
//! | adjust stock, read sales, register/list devices | no | own store | any store |
//! | supervise sync (queue, history, conflicts, audit) | no | own store | any store |
//! | read a store's discount policy | own store | own store | any store |
//! | approve a discount above the limit, set one's approval PIN | no | own store | any store |
//! | see every store at once (lists without a store), set discount limits | no | no | yes |
//! | configure sync, retry/discard ops, manage stores and users | no | no | yes |

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A person's role in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Cajero,
    Gerente,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cajero => "cajero",
            Self::Gerente => "gerente",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cajero" => Some(Self::Cajero),
            "gerente" => Some(Self::Gerente),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Spanish label for the header.
    pub fn label(self) -> &'static str {
        match self {
            Self::Cajero => "Cajero",
            Self::Gerente => "Gerente",
            Self::Admin => "Administrador",
        }
    }
}

/// The identity an access decision is made for: always taken from the session (or, for a
/// synced op, from its author), never from a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// The store the person works in.
    pub store_id: Uuid,
}

/// Something a person wants to do; store-scoped actions name the store they touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadCatalog,
    EditCatalog,
    ReadCustomers,
    CreateCustomer,
    /// A customer's data (name, phone, email…): anyone at the till keeps it current.
    EditCustomer,
    /// Removing a customer: managers.
    DeleteCustomer,
    ReadStock(Uuid),
    AdjustStock(Uuid),
    CreateSale(Uuid),
    /// One sale of the store, by id or folio: the till's receipt and returns (a return may be
    /// of a sale another cashier rang up). Devices pull the store's sales for the same reason.
    LookUpSale(Uuid),
    /// Lists of the store's sales (by day): managers.
    ReadSales(Uuid),
    ManageDevices(Uuid),
    /// Sync through a device of the store, register one's signing key on it, report its dead
    /// letters: anyone of the store (the till is theirs to use).
    UseDevice(Uuid),
    /// See a store's sync queue, history, conflicts and audit; resolve its conflicts.
    SuperviseSync(Uuid),
    /// Change the sync configuration, retry or discard ops.
    ConfigureSync,
    /// Read the store's discount rule (its limit, who approves): the till needs it.
    ReadSalesPolicy(Uuid),
    /// Approve a discount above the store's limit (and keep the PIN that signs it).
    ApproveDiscount(Uuid),
    /// Set a store's discount limit.
    SetDiscountLimit,
    /// Lists of every store at once (a store left out of the query means all of them).
    SeeEveryStore,
    ManageStoresAndUsers,
}

impl Principal {
    /// The store a list is about: the one named, else the person's own — or, for whoever may
    /// see every store, the one named or `None` for all. The caller still checks its action
    /// on the store returned.
    pub fn scope(&self, requested: Option<Uuid>) -> Option<Uuid> {
        if self.can(Action::SeeEveryStore) {
            requested
        } else {
            Some(requested.unwrap_or(self.store_id))
        }
    }

    /// Whether this principal may perform `action`.
    pub fn can(&self, action: Action) -> bool {
        use Action::*;
        if self.role == Role::Admin {
            return true;
        }
        let own = |store: Uuid| store == self.store_id;
        let manager = self.role == Role::Gerente;
        match action {
            ReadCatalog | ReadCustomers | CreateCustomer | EditCustomer => true,
            ReadStock(store)
            | CreateSale(store)
            | LookUpSale(store)
            | UseDevice(store)
            | ReadSalesPolicy(store) => own(store),
            EditCatalog | DeleteCustomer => manager,
            AdjustStock(store)
            | ReadSales(store)
            | ManageDevices(store)
            | SuperviseSync(store)
            | ApproveDiscount(store) => manager && own(store),
            ConfigureSync | ManageStoresAndUsers | SetDiscountLimit | SeeEveryStore => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Uuid = Uuid::from_u128(0xA);
    const B: Uuid = Uuid::from_u128(0xB);

    fn who(role: Role) -> Principal {
        Principal { role, store_id: A }
    }

    fn all_actions(store: Uuid) -> Vec<Action> {
        use Action::*;
        vec![
            ReadCatalog,
            EditCatalog,
            ReadCustomers,
            CreateCustomer,
            EditCustomer,
            DeleteCustomer,
            ReadStock(store),
            AdjustStock(store),
            CreateSale(store),
            LookUpSale(store),
            ReadSales(store),
            ManageDevices(store),
            UseDevice(store),
            SuperviseSync(store),
            ConfigureSync,
            ManageStoresAndUsers,
            ReadSalesPolicy(store),
            ApproveDiscount(store),
            SetDiscountLimit,
            SeeEveryStore,
        ]
    }

    #[test]
    fn admin_may_do_everything_in_every_store() {
        for store in [A, B] {
            for action in all_actions(store) {
                assert!(who(Role::Admin).can(action), "{action:?}");
            }
        }
    }

    #[test]
    fn cashier_sells_and_reads_only_in_own_store_and_edits_nothing() {
        let cajero = who(Role::Cajero);
        assert!(cajero.can(Action::CreateSale(A)));
        assert!(cajero.can(Action::ReadStock(A)));
        assert!(cajero.can(Action::CreateCustomer));
        assert!(!cajero.can(Action::CreateSale(B)));
        assert!(!cajero.can(Action::ReadStock(B)));
        assert!(!cajero.can(Action::ReadSales(A)));
        assert!(cajero.can(Action::LookUpSale(A)), "returns at the till");
        assert!(!cajero.can(Action::LookUpSale(B)));
        assert!(!cajero.can(Action::EditCatalog));
        assert!(
            cajero.can(Action::EditCustomer),
            "a phone changes at the till"
        );
        assert!(!cajero.can(Action::DeleteCustomer));
        assert!(!cajero.can(Action::AdjustStock(A)));
        assert!(!cajero.can(Action::ManageDevices(A)));
        assert!(cajero.can(Action::UseDevice(A)), "the store's tills");
        assert!(!cajero.can(Action::UseDevice(B)));
    }

    #[test]
    fn manager_runs_own_store_but_not_another_nor_the_chain() {
        let gerente = who(Role::Gerente);
        for action in [
            Action::AdjustStock(A),
            Action::ReadSales(A),
            Action::ManageDevices(A),
            Action::EditCatalog,
            Action::EditCustomer,
            Action::DeleteCustomer,
        ] {
            assert!(gerente.can(action), "{action:?}");
        }
        for action in [
            Action::AdjustStock(B),
            Action::ReadSales(B),
            Action::CreateSale(B),
            Action::ManageDevices(B),
            Action::ManageStoresAndUsers,
        ] {
            assert!(!gerente.can(action), "{action:?}");
        }
    }

    #[test]
    fn sync_is_supervised_by_the_store_manager_and_configured_by_admins_only() {
        assert!(who(Role::Gerente).can(Action::SuperviseSync(A)));
        assert!(!who(Role::Gerente).can(Action::SuperviseSync(B)));
        assert!(!who(Role::Gerente).can(Action::ConfigureSync));
        assert!(!who(Role::Cajero).can(Action::SuperviseSync(A)));
        assert!(who(Role::Admin).can(Action::ConfigureSync));
    }

    #[test]
    fn discounts_are_approved_by_the_store_manager_and_limits_set_by_admins() {
        assert!(who(Role::Cajero).can(Action::ReadSalesPolicy(A)));
        assert!(!who(Role::Cajero).can(Action::ReadSalesPolicy(B)));
        assert!(!who(Role::Cajero).can(Action::ApproveDiscount(A)));
        assert!(who(Role::Gerente).can(Action::ApproveDiscount(A)));
        assert!(!who(Role::Gerente).can(Action::ApproveDiscount(B)));
        assert!(!who(Role::Gerente).can(Action::SetDiscountLimit));
    }

    #[test]
    fn lists_default_to_the_own_store_and_only_admins_see_every_store() {
        assert_eq!(who(Role::Gerente).scope(None), Some(A));
        assert_eq!(
            who(Role::Gerente).scope(Some(B)),
            Some(B),
            "then refused by its action"
        );
        assert_eq!(who(Role::Admin).scope(None), None);
        assert_eq!(who(Role::Admin).scope(Some(B)), Some(B));
    }

    #[test]
    fn roles_round_trip_through_their_wire_names() {
        for role in [Role::Cajero, Role::Gerente, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
