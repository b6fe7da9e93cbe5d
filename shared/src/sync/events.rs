//! Real-time messages (DESIGN §4 "poke", §9): what the server tells connected browsers over
//! `/ws/sincronizacion/{estado,conflictos,cola}/`, and who may see which. A poke only says
//! "there is something to pull": a device that missed it loses nothing, it pulls from its
//! cursor on reconnect anyway.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{Action, Principal};

/// The three socket channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Pokes and device sync activity: every signed-in person of the store.
    Estado,
    /// Conflicts recorded or resolved: managers of the store, admins.
    Conflictos,
    /// Ops answered, refused, retried or discarded: managers of the store, admins.
    Cola,
}

impl Channel {
    pub fn parse(path: &str) -> Option<Self> {
        match path {
            "estado" => Some(Self::Estado),
            "conflictos" => Some(Self::Conflictos),
            "cola" => Some(Self::Cola),
            _ => None,
        }
    }
}

/// One server-to-browser message, JSON with a `tipo` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "tipo", rename_all = "snake_case")]
pub enum Event {
    /// Changes committed that a device may see: pull now. `tienda_id: None` is the chain's
    /// shared data (catalog, customers), seen by every store.
    Cambios { tienda_id: Option<Uuid> },
    /// A device pushed or pulled.
    Sincronizacion {
        tienda_id: Uuid,
        dispositivo_id: Uuid,
        aplicadas: u32,
        conflictos: u32,
        rechazadas: u32,
        /// RFC 3339, UTC.
        en: String,
    },
    /// A conflict was recorded (`pendiente` under `manual`, `resuelto` otherwise) or resolved.
    Conflicto {
        tienda_id: Uuid,
        modelo: String,
        entidad_id: Uuid,
        estado: String,
    },
    /// Ops of a device were answered (the queue moved).
    Cola {
        tienda_id: Uuid,
        dispositivo_id: Uuid,
        aplicadas: u32,
        rechazadas: u32,
    },
    /// A device's socket opened or closed.
    Dispositivo {
        tienda_id: Uuid,
        dispositivo_id: Uuid,
        conectado: bool,
    },
    /// Some events may have been lost (a slow socket, a lost database listener): pull, and
    /// reload what is on screen.
    Resincronizar,
}

impl Event {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Cambios { .. }
            | Self::Sincronizacion { .. }
            | Self::Dispositivo { .. }
            | Self::Resincronizar => Channel::Estado,
            Self::Conflicto { .. } => Channel::Conflictos,
            Self::Cola { .. } => Channel::Cola,
        }
    }

    /// The store it concerns; `None` for the whole chain.
    pub fn store(&self) -> Option<Uuid> {
        match self {
            Self::Cambios { tienda_id } => *tienda_id,
            Self::Resincronizar => None,
            Self::Sincronizacion { tienda_id, .. }
            | Self::Dispositivo { tienda_id, .. }
            | Self::Conflicto { tienda_id, .. }
            | Self::Cola { tienda_id, .. } => Some(*tienda_id),
        }
    }
}

/// Whether `who`, listening on `channel`, gets `event`: the channel must match; conflicts and
/// the queue are for whoever supervises the store's sync; everything else for the people of
/// the store (admins see every store). Chain-wide events go to everyone.
pub fn may_see(who: &Principal, channel: Channel, event: &Event) -> bool {
    if event.channel() != channel {
        return false;
    }
    let Some(store) = event.store() else {
        return true;
    };
    match channel {
        Channel::Estado => who.can(Action::ReadStock(store)),
        Channel::Conflictos | Channel::Cola => who.can(Action::SuperviseSync(store)),
    }
}

/// Who may open `channel` at all.
pub fn may_open(who: &Principal, channel: Channel) -> bool {
    match channel {
        Channel::Estado => true,
        Channel::Conflictos | Channel::Cola => who.can(Action::SuperviseSync(who.store_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);

    fn person(role: Role, store: Uuid) -> Principal {
        Principal {
            role,
            store_id: store,
        }
    }

    #[test]
    fn a_cashier_sees_pokes_of_her_store_and_the_chain_never_another_store() {
        let cashier = person(Role::Cajero, A);
        let poke = |store| Event::Cambios { tienda_id: store };
        assert!(may_see(&cashier, Channel::Estado, &poke(Some(A))));
        assert!(may_see(&cashier, Channel::Estado, &poke(None)));
        assert!(!may_see(&cashier, Channel::Estado, &poke(Some(B))));
        assert!(!may_open(&cashier, Channel::Conflictos));
    }

    #[test]
    fn conflicts_reach_the_managers_of_their_store_and_admins_on_that_channel_only() {
        let conflict = Event::Conflicto {
            tienda_id: A,
            modelo: "clientes.Cliente".into(),
            entidad_id: Uuid::from_u128(9),
            estado: "pendiente".into(),
        };
        assert!(may_see(
            &person(Role::Gerente, A),
            Channel::Conflictos,
            &conflict
        ));
        assert!(!may_see(
            &person(Role::Gerente, B),
            Channel::Conflictos,
            &conflict
        ));
        assert!(may_see(
            &person(Role::Admin, B),
            Channel::Conflictos,
            &conflict
        ));
        assert!(!may_see(
            &person(Role::Cajero, A),
            Channel::Conflictos,
            &conflict
        ));
        assert!(!may_see(
            &person(Role::Gerente, A),
            Channel::Estado,
            &conflict
        ));
    }

    #[test]
    fn events_travel_as_tagged_json() {
        let json = serde_json::to_string(&Event::Cambios { tienda_id: None }).unwrap();
        assert_eq!(json, r#"{"tipo":"cambios","tienda_id":null}"#);
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Event::Cambios { tienda_id: None });
    }
}
