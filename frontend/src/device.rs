//! This browser's identity as a device of a store. A manager or admin registers it once
//! (`POST /api/devices`); the answer is kept on the device, since every op it queues will carry
//! the device id and sale folios its code. (The IndexedDB engine of a later issue takes over
//! the storage; the server-side binding to the store is what counts.)

use leptos::prelude::*;
use pronto_shared::api::devices::{Device, DeviceInput};

use crate::{api, storage};

const DEVICE_KEY: &str = "pronto.dispositivo";

/// The registered device, if any; provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct ThisDevice {
    pub device: RwSignal<Option<Device>>,
}

impl ThisDevice {
    pub fn load() -> Self {
        let device = storage::get(DEVICE_KEY).and_then(|json| serde_json::from_str(&json).ok());
        Self {
            device: RwSignal::new(device),
        }
    }

    /// Registers this browser in the signed-in manager's store under `name`.
    pub async fn register(self, name: String) -> Result<Device, api::ApiError> {
        let device: Device = api::post(
            "/api/devices",
            &DeviceInput {
                nombre: name,
                tienda_id: None,
            },
        )
        .await?;
        if let Ok(json) = serde_json::to_string(&device) {
            storage::set(DEVICE_KEY, &json);
        }
        self.device.set(Some(device.clone()));
        Ok(device)
    }
}
