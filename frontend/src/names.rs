//! Names for the ids the manager screens show (`GET /api/directorio`): stores, devices and
//! people, loaded when a screen opens. An id the directory does not know is said in words,
//! never shown raw.

use leptos::{prelude::*, task::spawn_local};
use pronto_shared::api::directory::Directory;
use uuid::Uuid;

use crate::api;

#[derive(Clone, Copy)]
pub struct Names(RwSignal<Directory>);

impl Names {
    /// Starts loading the directory; names appear when it arrives.
    pub fn load() -> Self {
        let directory = RwSignal::new(Directory::default());
        spawn_local(async move {
            if let Ok(found) = api::get::<Directory>("/api/directorio").await {
                directory.set(found);
            }
        });
        Self(directory)
    }

    pub fn directory(self) -> Directory {
        self.0.get()
    }

    pub fn store(self, id: Uuid) -> String {
        self.0.with(|d| {
            d.store(id)
                .map_or_else(|| "Otra tienda".into(), |s| s.nombre.clone())
        })
    }

    pub fn device(self, id: Uuid) -> String {
        self.0.with(|d| {
            d.device(id)
                .map_or_else(|| "Dispositivo de otra tienda".into(), |x| x.nombre.clone())
        })
    }

    pub fn person(self, id: Uuid) -> String {
        self.0.with(|d| {
            d.person(id)
                .map_or_else(|| "Persona de otra tienda".into(), |p| p.nombre.clone())
        })
    }

    /// An id as text (audit entries keep them so): its name, or "—" when there is none.
    pub fn person_text(self, id: Option<&str>) -> String {
        Self::of_text(id, |id| self.person(id))
    }

    pub fn device_text(self, id: Option<&str>) -> String {
        Self::of_text(id, |id| self.device(id))
    }

    fn of_text(id: Option<&str>, name: impl Fn(Uuid) -> String) -> String {
        match id.map(Uuid::parse_str) {
            Some(Ok(id)) => name(id),
            _ => "—".into(),
        }
    }
}
