//! `GET /api/directorio`: who and what the manager screens name — stores, devices and people
//! by name, so no screen shows an id. Scoped like the screens: a manager's own store (and the
//! people of it), an admin's every store.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::StoreRef;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Directory {
    pub tiendas: Vec<StoreRef>,
    pub dispositivos: Vec<Named>,
    pub personas: Vec<Named>,
}

/// A device or a person: id, name, and the store it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Named {
    pub id: Uuid,
    pub nombre: String,
    pub tienda_id: Uuid,
}

impl Directory {
    pub fn store(&self, id: Uuid) -> Option<&StoreRef> {
        self.tiendas.iter().find(|s| s.id == id)
    }

    pub fn device(&self, id: Uuid) -> Option<&Named> {
        self.dispositivos.iter().find(|d| d.id == id)
    }

    pub fn person(&self, id: Uuid) -> Option<&Named> {
        self.personas.iter().find(|p| p.id == id)
    }
}

/// How a conflict names its record: a customer by name, a product by name, colour and size.
pub fn record_label(model: &str, row: &serde_json::Value) -> Option<String> {
    let text = |field: &str| row.get(field).and_then(serde_json::Value::as_str);
    match model {
        crate::sync::config::PRODUCTO => {
            let size = row.get("talla").and_then(serde_json::Value::as_f64);
            Some(format!(
                "{} · {} · talla {}",
                text("nombre")?,
                text("color").unwrap_or_default(),
                size.map(crate::domain::ShoeSize::label_of)
                    .unwrap_or_default()
            ))
        }
        _ => text("nombre").map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_customer_is_named_by_name_and_a_product_by_name_colour_and_size() {
        assert_eq!(
            record_label("clientes.Cliente", &json!({"nombre": "Ana Ruiz"})).as_deref(),
            Some("Ana Ruiz")
        );
        assert_eq!(
            record_label(
                "productos.Producto",
                &json!({"nombre": "Bota Sierra", "color": "Negro", "talla": 26.5})
            )
            .as_deref(),
            Some("Bota Sierra · Negro · talla 26.5")
        );
        assert_eq!(record_label("clientes.Cliente", &json!({})), None);
    }
}
