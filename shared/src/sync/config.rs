//! Per-model sync configuration: the Rust form of the original Django settings. The defaults
//! here are the file default; an admin edits the live copy (stored by the server).

use serde::{Deserialize, Serialize};

use crate::domain::{FieldErrors, ValidationError};

pub const PRODUCTO: &str = "productos.Producto";
pub const CLIENTE: &str = "clientes.Cliente";
pub const EXISTENCIA: &str = "inventario.Existencia";
pub const VENTA: &str = "ventas.Venta";

/// How a conflict on a model is settled (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Latest HLC wins, field by field.
    UltimaModificacion,
    /// The server's (central) value wins.
    PrioridadCentral,
    /// The store's (device's) value wins.
    PrioridadTienda,
    /// Held until a manager resolves it.
    Manual,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::UltimaModificacion,
        Strategy::PrioridadCentral,
        Strategy::PrioridadTienda,
        Strategy::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UltimaModificacion => "ultima_modificacion",
            Self::PrioridadCentral => "prioridad_central",
            Self::PrioridadTienda => "prioridad_tienda",
            Self::Manual => "manual",
        }
    }
}

/// One model's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub model: String,
    /// Fields that never travel in either direction.
    pub excluded_fields: Vec<String>,
    /// Critical models are pushed first.
    pub critico: bool,
    pub estrategia: Strategy,
    /// Push order between models: higher first (ops of one entity keep their order).
    pub prioridad: i32,
}

/// Synced fields of `productos.Producto` (wire names; also the keys of its field stamps).
pub const PRODUCT_FIELDS: &[&str] = &[
    "sku",
    "codigo_barras",
    "nombre",
    "marca",
    "modelo",
    "color",
    "talla",
    "precio",
    "imagen",
    "activo",
];

/// Synced fields of `clientes.Cliente`.
pub const CUSTOMER_FIELDS: &[&str] = &["nombre", "telefono", "email", "rfc", "puntos", "notas"];

/// Fields each synced model has on the wire (the `content-types` answer).
pub fn model_fields(model: &str) -> Option<&'static [&'static str]> {
    match model {
        PRODUCTO => Some(PRODUCT_FIELDS),
        CLIENTE => Some(CUSTOMER_FIELDS),
        EXISTENCIA => Some(&["tienda_id", "producto_id", "cantidad"]),
        VENTA => Some(&[
            "folio",
            "tienda_id",
            "cliente_id",
            "lineas",
            "pagos",
            "descuento",
            "total",
        ]),
        _ => None,
    }
}

/// The file default (DESIGN §5 for products and customers; stock and sales never conflict —
/// stock moves by commuting deltas, sales are insert-only — so their strategy is never used,
/// and they are pushed first because they are money and shoes that already left the store).
pub fn defaults() -> Vec<ModelConfig> {
    vec![
        ModelConfig {
            model: VENTA.into(),
            excluded_fields: vec![],
            critico: true,
            estrategia: Strategy::PrioridadTienda,
            prioridad: 100,
        },
        ModelConfig {
            model: EXISTENCIA.into(),
            excluded_fields: vec![],
            critico: true,
            estrategia: Strategy::PrioridadTienda,
            prioridad: 90,
        },
        ModelConfig {
            model: CLIENTE.into(),
            excluded_fields: vec![],
            critico: true,
            estrategia: Strategy::PrioridadCentral,
            prioridad: 50,
        },
        ModelConfig {
            model: PRODUCTO.into(),
            excluded_fields: vec!["imagen".into()],
            critico: true,
            estrategia: Strategy::UltimaModificacion,
            prioridad: 40,
        },
    ]
}

impl ModelConfig {
    /// Checks an admin's edit: a known model, excluded fields that exist, a sane priority.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        match model_fields(&self.model) {
            None => e.add("model", ValidationError::new("Modelo desconocido.")),
            Some(fields) => {
                for f in &self.excluded_fields {
                    if !fields.contains(&f.as_str()) {
                        e.add(
                            "excluded_fields",
                            format!("El campo {f} no existe en {}.", self.model),
                        );
                    }
                }
                if matches!(self.model.as_str(), VENTA | EXISTENCIA)
                    && !self.excluded_fields.is_empty()
                {
                    e.add(
                        "excluded_fields",
                        "Ventas e inventario no admiten campos excluidos.",
                    );
                }
            }
        }
        if !(0..=1000).contains(&self.prioridad) {
            e.add("prioridad", "La prioridad debe ir de 0 a 1000.");
        }
        e.into_result()
    }

    pub fn is_excluded(&self, field: &str) -> bool {
        self.excluded_fields.iter().any(|f| f == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design_and_validate() {
        let all = defaults();
        let product = all.iter().find(|c| c.model == PRODUCTO).unwrap();
        assert_eq!(product.excluded_fields, vec!["imagen"]);
        assert_eq!(product.estrategia, Strategy::UltimaModificacion);
        let customer = all.iter().find(|c| c.model == CLIENTE).unwrap();
        assert_eq!(customer.estrategia, Strategy::PrioridadCentral);
        assert!(customer.excluded_fields.is_empty());
        for config in &all {
            assert!(config.validate().is_ok(), "{config:?}");
        }
    }

    #[test]
    fn an_unknown_excluded_field_or_model_is_refused() {
        let mut config = defaults().pop().unwrap();
        config.excluded_fields.push("color_secreto".into());
        assert!(config
            .validate()
            .unwrap_err()
            .get("excluded_fields")
            .is_some());
        config.model = "x.Y".into();
        assert!(config.validate().unwrap_err().get("model").is_some());
    }
}
